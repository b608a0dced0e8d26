namespace HeteroBatch.Engine.Streaming;

/// <summary>Progress of a dataset stream, reported after every batch.</summary>
public sealed record DatasetProgress
{
    /// <summary>Items done, counting the ones a resumed output already held.</summary>
    public required long ItemsDone { get; init; }
    public required long TotalItems { get; init; }
    /// <summary>Items per second of this run so far.</summary>
    public double ItemsPerSecond { get; init; }
    /// <summary>Seconds left at that rate; -1 while unknown.</summary>
    public int SecondsRemaining { get; init; } = -1;
    public long BadItems { get; init; }
}
