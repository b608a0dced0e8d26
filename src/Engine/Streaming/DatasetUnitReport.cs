namespace HeteroBatch.Engine.Streaming;

/// <summary>One unit's part of a dataset stream.</summary>
public sealed record DatasetUnitReport
{
    public required string Unit { get; init; }
    /// <summary>Items it ran.</summary>
    public long Items { get; init; }
    /// <summary>Its share of the items run (0–1).</summary>
    public double Share { get; init; }
    /// <summary>Seconds it was running: its shares' wall time, setup included (<see cref="StreamSchedule.PerBatch"/>), or its
    /// chunks' wall time on its worker (<see cref="StreamSchedule.Pull"/>, warmed before the clock).</summary>
    public double BusySeconds { get; init; }
    /// <summary>Items per second while busy.</summary>
    public double ItemsPerSecond => BusySeconds > 0 ? Items / BusySeconds : 0;
    /// <summary>Intra-op threads of a CPU unit (0 for other units).</summary>
    public int Threads { get; init; }
    /// <summary>Items per chunk it pulled (<see cref="StreamSchedule.Pull"/>; see <see cref="PullChunkSizes"/>); 0 with <see cref="StreamSchedule.PerBatch"/>.</summary>
    public int ChunkSize { get; init; }
    /// <summary>Chunks it ran (<see cref="StreamSchedule.Pull"/>), or batches it had a share of (<see cref="StreamSchedule.PerBatch"/>).</summary>
    public int Chunks { get; init; }
}
