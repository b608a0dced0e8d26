using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

// The messages between the machine that coordinates a cross-machine run and the machines that do the work.
// They travel as JSON (see WireFormat); tensors travel beside them as raw little-endian float32 bytes.

/// <summary>What a machine is asked about: its units, and for a run, the model and the units it would use.</summary>
public sealed record MachineQuery
{
    /// <summary>The run's options with the machine's own unit ids (<see cref="RunOptions.ForMachine"/>): the model as the
    /// machine resolves it (with the run's precision and model cache) and the units it would use (none: every available
    /// unit); null asks for every unit of the machine, available or not.</summary>
    public RunOptions? Options { get; init; }
    /// <summary>Probe the hardware again instead of using the machine's cached discovery.</summary>
    public bool Refresh { get; init; }
}

/// <summary>The facts of a model that every machine of a run must agree on.</summary>
public sealed record ModelFacts
{
    public required string Name { get; init; }
    public required string Hash { get; init; }
    public required int[] InputItemShape { get; init; }
    public required int[] OutputItemShape { get; init; }
    public int? MaxBatchSize { get; init; }

    [JsonIgnore] public int InputElementsPerItem => InputItemShape.Aggregate(1, (a, b) => checked(a * b));
    [JsonIgnore] public int OutputElementsPerItem => OutputItemShape.Aggregate(1, (a, b) => checked(a * b));
    [JsonIgnore] public string ShortHash => Hash.Length > 12 ? Hash[..12] : Hash;

    public static ModelFacts From(ModelInfo model) => new()
    {
        Name = model.Name, Hash = model.Hash, InputItemShape = (int[])model.InputItemShape.Clone(),
        OutputItemShape = (int[])model.OutputItemShape.Clone(), MaxBatchSize = model.MaxBatchSize,
    };
}

/// <summary>A machine's answer to a <see cref="MachineQuery"/>.</summary>
public sealed record MachineDescription
{
    /// <summary>The name the machine reports (<see cref="Environment.MachineName"/> there); its rows in the perf table carry it.</summary>
    public required string MachineName { get; init; }
    /// <summary>Version of the HeteroBatch engine on the machine.</summary>
    public string EngineVersion { get; init; } = "";
    public int ProcessorCount { get; init; }
    /// <summary>The model as the machine resolved it; null when no model was asked about.</summary>
    public ModelFacts? Model { get; init; }
    /// <summary>The units asked for (or all of them), with their local ids.</summary>
    public required ComputeUnit[] Units { get; init; }
    /// <summary>Unit id → options key the machine runs and profiles it with (only when a model was asked about).</summary>
    public Dictionary<string, string> UnitOptions { get; init; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Time the machine spent answering, milliseconds.</summary>
    public double ElapsedMs { get; init; }
}

/// <summary>Which units of a machine to profile, with the options each will run with.</summary>
public sealed record ProfileRequest
{
    /// <summary>The run's options (<see cref="RunOptions.ForMachine"/>): the model, its precision, the CPU slices, and how
    /// to measure (<see cref="RunOptions.ProfileOptions"/>, whose BackendOptions are replaced by each unit's).</summary>
    public required RunOptions Options { get; init; }
    /// <summary>The hash the coordinator expects; a machine that resolves the model to another file refuses (ModelMismatch).</summary>
    public string ModelHash { get; init; } = "";
    /// <summary>Unit id → options key (from the machine's <see cref="MachineDescription.UnitOptions"/>).</summary>
    public required Dictionary<string, string> UnitOptions { get; init; }
}

/// <summary>Where one machine's items come from, without the items themselves unless they are a caller's tensor.</summary>
public sealed record ShareInput
{
    public const string SyntheticKind = "Synthetic";
    public const string FilesKind = "Files";
    public const string TensorKind = "Tensor";

    /// <summary><see cref="SyntheticKind"/>, <see cref="FilesKind"/> or <see cref="TensorKind"/>.</summary>
    public required string Kind { get; init; }
    /// <summary>Synthetic: the whole batch's size and seed (the machine generates its items of it).</summary>
    public int BatchSize { get; init; }
    public int Seed { get; init; }
    /// <summary>Files: full paths, readable on the machine (shared storage), in batch order.</summary>
    public string[] Files { get; init; } = Array.Empty<string>();
    /// <summary>First item within the synthetic batch or the files' items.</summary>
    public int FirstItem { get; init; }
    public required int Count { get; init; }
    /// <summary>Tensor: the items' shape (without the batch dimension); the floats come as bytes beside the message.</summary>
    public int[] ItemShape { get; init; } = Array.Empty<int>();

    /// <summary>The input source this describes; <paramref name="tensor"/> holds the items of a tensor input.</summary>
    public InputSource ToSource(float[]? tensor) => Kind switch
    {
        SyntheticKind => InputSource.Range(InputSource.Synthetic(BatchSize, Seed), FirstItem, Count),
        FilesKind => InputSource.Range(InputSource.Files(Files), FirstItem, Count),
        TensorKind => InputSource.FromArray(tensor ?? throw new Errors.HeteroBatchException(DistributedErrorIds.RemoteProtocolError, Errors.ErrorKind.InvalidData,
            "A tensor share arrived without its data.", Kind), new[] { Count }.Concat(ItemShape).ToArray()),
        _ => throw new Errors.HeteroBatchException(DistributedErrorIds.RemoteProtocolError, Errors.ErrorKind.InvalidData, $"Unknown input kind '{Kind}'.", Kind),
    };
}

/// <summary>One machine's slice of a cross-machine batch: the items, the run's options, and the machine's part of the plan.</summary>
public sealed record ShareRequest
{
    /// <summary>The run's options with the machine's units for the whole run (their options depend on the set), local
    /// ids (<see cref="RunOptions.ForMachine"/>).</summary>
    public required RunOptions Options { get; init; }
    public string ModelHash { get; init; } = "";
    public required ShareInput Input { get; init; }
    /// <summary>The machine's local plan (see <see cref="MachinePlanner.LocalPlan"/>); null: the machine plans the
    /// slice from its own table (<see cref="RunOptions.PerfTablePath"/>, profiling what it lacks).</summary>
    public BatchPlan? Plan { get; init; }
    /// <summary>Position of the slice's first item in the whole batch (for reports).</summary>
    public int FirstItem { get; init; }
}

/// <summary>What a machine did with its slice; the output floats travel beside it.</summary>
public sealed record ShareResult
{
    public required string MachineName { get; init; }
    public required int FirstItem { get; init; }
    public required int Items { get; init; }
    /// <summary>Time the machine spent on the slice (loading, planning, running), milliseconds.</summary>
    public double WallMs { get; init; }
    /// <summary>The machine's units, with their local ids.</summary>
    public required UnitRunReport[] Units { get; init; }
    /// <summary>Per unit and batch size, the median chunk time measured in this slice (rows to fold into the table).</summary>
    public PerfEntry[] Measured { get; init; } = Array.Empty<PerfEntry>();
    public int[] OutputItemShape { get; init; } = Array.Empty<int>();
    /// <summary>The slice's outputs, item-major; not part of the JSON.</summary>
    [JsonIgnore] public float[]? Output { get; init; }
}
