namespace HeteroBatch.Engine.Streaming;

/// <summary>What a dataset stream did: the final result object of Invoke-HeteroDataset.</summary>
public sealed record DatasetSummary
{
    public required string Model { get; init; }
    /// <summary>Items of the dataset.</summary>
    public required long TotalItems { get; init; }
    /// <summary>How the units were kept busy: PerBatch or Pull (see <see cref="StreamSchedule"/>).</summary>
    public string Schedule { get; init; } = nameof(StreamSchedule.PerBatch);
    /// <summary>Items this run went through (good and bad); a resumed run leaves out the rows already there.</summary>
    public long Items { get; init; }
    /// <summary>Rows the output already held when a resumed run started.</summary>
    public long ResumedFrom { get; init; }
    public long BadItems { get; init; }
    public double WallSeconds { get; init; }
    public double ItemsPerSecond => WallSeconds > 0 ? Items / WallSeconds : 0;
    public int BatchSize { get; init; }
    public int Batches { get; init; }
    /// <summary>Batches decoded or running at once, at most (the bound).</summary>
    public int BatchesInFlight { get; init; }
    /// <summary>Input buffers that were rented at once at the peak (never more than <see cref="BatchesInFlight"/>).</summary>
    public int PeakBuffersInUse { get; init; }
    /// <summary>CPU threads that decoded.</summary>
    public int DecodeWorkers { get; init; }
    /// <summary>Intra-op threads of the CPU unit(s) after the decode workers took their cores (0 without a CPU unit).</summary>
    public int CpuInferenceThreads { get; init; }
    public int LogicalCores { get; init; }
    /// <summary>How the cores were divided between decoding and CPU inference, and why.</summary>
    public string CoreSplit { get; init; } = "";
    public string Decoder { get; init; } = "";
    /// <summary>Seconds the decode workers spent reading items, added over the workers.</summary>
    public double DecodeSeconds { get; init; }
    /// <summary>Items per second one decode worker manages (items / DecodeSeconds).</summary>
    public double DecodeItemsPerSecondPerWorker => DecodeSeconds > 0 ? Items / DecodeSeconds : 0;
    /// <summary>Seconds the stream waited for decoded batches (decode-bound when large); with Pull, the units' idle time
    /// waiting for decoded items, added over the units.</summary>
    public double WaitForDecodeSeconds { get; init; }
    /// <summary>Seconds in inference calls (planning, setup and the split run); with Pull, the seconds the in-order writer
    /// waited for chunks to finish (setup is before the clock, in <see cref="SetupSeconds"/>).</summary>
    public double InferenceSeconds { get; init; }
    /// <summary>Pull: seconds to open the units' sessions and warm their chunk sizes, before the clock started (0 with PerBatch,
    /// whose first batch pays its setup inside the clock).</summary>
    public double SetupSeconds { get; init; }
    public DatasetUnitReport[] Units { get; init; } = Array.Empty<DatasetUnitReport>();
    /// <summary>"cpu 62% (1 thread), gpu0 38%"; with Pull each unit's chunk size too: "cpu 20% (1 thread, chunks of 8), gpu0 80% (chunks of 128)".</summary>
    public string UnitShares { get; init; } = "";
    public string? OutputPath { get; init; }
    /// <summary>Rows the output .npy holds at the end.</summary>
    public long OutputRows { get; init; }
    public DatasetBadItem[] Bad { get; init; } = Array.Empty<DatasetBadItem>();
}
