namespace HeteroBatch.Engine.Streaming;

/// <summary>An item that could not be read (unreadable, not an image): skipped, its output row NaN.</summary>
public sealed record DatasetBadItem
{
    public required long Index { get; init; }
    public required string Path { get; init; }
    /// <summary>Why, as a stable ErrorId (ImageDecodeFailed, UnsupportedInputType, InputNotFound, InputReadFailed).</summary>
    public required string ErrorId { get; init; }
    public required string Message { get; init; }
}
