using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Streaming;

/// <summary>Everything Invoke-HeteroDataset asks for: a dataset streamed through <see cref="DatasetStream"/>.</summary>
public sealed record DatasetRequest
{
    /// <summary>Zoo name or ONNX file path.</summary>
    public required string Model { get; init; }
    public string? ModelCacheDirectory { get; init; }
    /// <summary>Folders, image files, .npy files; see <see cref="DatasetSource.Open"/>.</summary>
    public required IReadOnlyList<string> Paths { get; init; }
    /// <summary>Unit ids; null or empty: every available unit.</summary>
    public IReadOnlyList<string>? Units { get; init; }
    /// <summary>How the units are kept busy: each batch split by the perf table (PerBatch, default), or units pulling chunks (Pull).</summary>
    public StreamSchedule Schedule { get; init; } = StreamSchedule.PerBatch;
    /// <summary>Items per batch: each batch is planned and split across the units by the perf table (PerBatch), or cut into
    /// the units' chunks (Pull; no chunk is larger than a batch).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Batches decoded or running at once, at most (the bound on input memory): one running, the others decoding ahead.</summary>
    public int BatchesInFlight { get; init; } = 3;
    /// <summary>CPU threads that decode; 0 picks (see <see cref="DatasetStream.DecodeWorkersFor"/>).</summary>
    public int DecodeWorkers { get; init; }
    public ImageDecoderKind Decoder { get; init; } = ImageDecoderKind.Skia;
    /// <summary>Streamed .npy of the outputs (one row per item, in input order; a bad item's row is NaN); null writes none.</summary>
    public string? OutputPath { get; init; }
    /// <summary>Continue after the rows <see cref="OutputPath"/> already holds.</summary>
    public bool Resume { get; init; }
    /// <summary>Per-item results carry the best <see cref="Top"/> classes; 0 = none.</summary>
    public int Top { get; init; }
    /// <summary>Per-item results carry the output vector.</summary>
    public bool IncludeOutput { get; init; }
    public string? PerfTablePath { get; init; }
    public bool NoAutoProfile { get; init; }
    /// <summary>How units the table lacks are profiled (see <see cref="Execution.InferenceRequest.ProfileOptions"/>).</summary>
    public Profiling.ProfileOptions? ProfileOptions { get; init; }
    public BackendOptions? BackendOptions { get; init; }
    public ModelPrecision Precision { get; init; } = ModelPrecision.Single;
}
