using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

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
