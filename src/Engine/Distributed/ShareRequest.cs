using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

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
