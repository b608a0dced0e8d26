namespace HeteroBatch.Engine.Streaming;

/// <summary>One unit's part of a dataset stream.</summary>
public sealed record DatasetUnitReport
{
    public required string Unit { get; init; }
    /// <summary>Items it ran.</summary>
    public long Items { get; init; }
    /// <summary>Its share of the items run (0–1).</summary>
    public double Share { get; init; }
    /// <summary>Seconds it was running batches (its chunks' wall time, setup included).</summary>
    public double BusySeconds { get; init; }
    /// <summary>Items per second while busy.</summary>
    public double ItemsPerSecond => BusySeconds > 0 ? Items / BusySeconds : 0;
    /// <summary>Intra-op threads of a CPU unit (0 for other units).</summary>
    public int Threads { get; init; }
}
