namespace HeteroBatch.Engine.Streaming;

/// <summary>What a dataset stream did: the final result object of Invoke-HeteroDataset.</summary>
public sealed record DatasetSummary
{
    public required string Model { get; init; }
    /// <summary>Items of the dataset.</summary>
    public required long TotalItems { get; init; }
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
    /// <summary>Seconds the stream waited for decoded batches (decode-bound when large).</summary>
    public double WaitForDecodeSeconds { get; init; }
    /// <summary>Seconds in inference calls (planning, setup and the split run).</summary>
    public double InferenceSeconds { get; init; }
    public DatasetUnitReport[] Units { get; init; } = Array.Empty<DatasetUnitReport>();
    /// <summary>"cpu 62% (1 thread), gpu0 38%".</summary>
    public string UnitShares { get; init; } = "";
    public string? OutputPath { get; init; }
    /// <summary>Rows the output .npy holds at the end.</summary>
    public long OutputRows { get; init; }
    public DatasetBadItem[] Bad { get; init; } = Array.Empty<DatasetBadItem>();
}
