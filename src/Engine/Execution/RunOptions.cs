using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// The options of a run, written once: <see cref="InferenceRequest"/> (this machine) and
/// <see cref="Distributed.DistributedRequest"/> (across machines) are these options plus their input, and the messages
/// a machine of a cross-machine run gets (<see cref="Distributed.MachineQuery"/>, <see cref="Distributed.ProfileRequest"/>,
/// <see cref="Distributed.ShareRequest"/>) carry them as they are. An option added here therefore works on one
/// machine and across machines alike. The record travels as JSON (see <see cref="Distributed.WireFormat"/>).
/// </summary>
public record RunOptions
{
    /// <summary>Zoo name or ONNX file path (see <see cref="ModelResolver"/>); across machines a path must be readable
    /// at the same place on every machine.</summary>
    public required string Model { get; init; }
    /// <summary>Model cache folder; null uses the default (across machines: the same folder on every machine).</summary>
    public string? ModelCacheDirectory { get; init; }
    /// <summary>Half runs the model's fp16 conversion (inputs and outputs stay fp32; see <see cref="HalfPrecision"/>).</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Single;
    /// <summary>Unit ids (<c>cpu</c>, <c>gpu0</c>, CPU slices <c>cpu:0</c>, <c>cpu:1</c>; across machines also
    /// <c>machine/unit</c>); null or empty: every available unit.</summary>
    public IReadOnlyList<string>? Units { get; init; }
    /// <summary>Split the CPU into this many slices that run as separate units (see <see cref="ThreadBudget.SplitCpu"/>); 1 = whole.</summary>
    public int CpuSlices { get; init; } = 1;
    /// <summary>Options for every unit; CPU units get their thread budget on top (see <see cref="ThreadBudget.OptionsFor"/>).</summary>
    public BackendOptions? BackendOptions { get; init; }
    public PlanAlgorithm Algorithm { get; init; } = PlanAlgorithm.Optimal;
    /// <summary>Perf table file; null uses the default table.</summary>
    public string? PerfTablePath { get; init; }
    /// <summary>Fail with <c>MissingProfile</c> instead of profiling units the table lacks.</summary>
    public bool NoAutoProfile { get; init; }
    /// <summary>How missing entries are profiled; its BackendOptions are replaced by each unit's run options, and
    /// without explicit BatchSizes the grid goes up to the batch size (at most 129).</summary>
    public ProfileOptions? ProfileOptions { get; init; }
    /// <summary>Fold the measured per-chunk times into the perf table (exponential moving average).</summary>
    public bool UpdatePerfTable { get; init; }
    /// <summary>Weight of the new measurement when folding (0–1].</summary>
    public double FoldWeight { get; init; } = PerfTableMerge.DefaultFoldWeight;
    /// <summary>Write the output tensor here as .npy (atomically, on the machine that started the run); null writes nothing.</summary>
    public string? OutputPath { get; init; }
    /// <summary>Before the run, warm every batch size the table measured on each unit (not only the ones this plan runs),
    /// so later calls of any size pay no setup. The cost is reported in <see cref="InferenceResult.SetupMs"/>.</summary>
    public bool WarmUp { get; init; }

    /// <summary>
    /// The options a machine of a cross-machine run gets for its part: the same options with the machine's own unit
    /// ids, while writing the output and folding the table stay with the machine that started the run.
    /// </summary>
    public RunOptions ForMachine(IReadOnlyList<string>? localUnits) =>
        new RunOptions(this) { Units = localUnits, OutputPath = null, UpdatePerfTable = false };
}
