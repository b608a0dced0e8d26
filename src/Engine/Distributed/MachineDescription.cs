using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

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
