namespace HeteroBatch.Engine.Streaming;

/// <summary>One item's result, written as its batch completes. Plain values only, so it survives CSV and JSON.</summary>
public sealed record DatasetItemResult
{
    /// <summary>Position of the item in the dataset (0-based), and its row in the output .npy.</summary>
    public required long Index { get; init; }
    /// <summary>The image file, or the .npy file with [row].</summary>
    public required string Path { get; init; }
    /// <summary>Best class (with <c>-Top</c>), else -1.</summary>
    public int Class { get; init; } = -1;
    /// <summary>Its softmax score (with <c>-Top</c>), else NaN.</summary>
    public float Score { get; init; } = float.NaN;
    /// <summary>The best classes, best first, separated by spaces (e.g. "285 281 282"); empty without <c>-Top</c>.</summary>
    public string TopClasses { get; init; } = "";
    /// <summary>Their scores, same order, invariant culture, separated by spaces.</summary>
    public string TopScores { get; init; } = "";
    /// <summary>The output vector (with <c>-IncludeOutput</c>), else null.</summary>
    public float[]? Output { get; init; }
}
