using System.Collections.Concurrent;
using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>What <see cref="HeteroExecutor.Execute"/> runs: a plan for a batch of a model over units.</summary>
public sealed record ExecutionRequest
{
    public required BatchPlan Plan { get; init; }
    public required ModelInfo Model { get; init; }
    /// <summary>Units the plan may use, and the ones its items fall back on when a unit fails.</summary>
    public required IReadOnlyList<ComputeUnit> Units { get; init; }
    public required BatchInput Input { get; init; }
    /// <summary>Backend options by unit id (see <see cref="ThreadBudget.OptionsFor"/>); a unit not listed uses <see cref="BackendOptions.Default"/>.</summary>
    public IReadOnlyDictionary<string, BackendOptions>? UnitOptions { get; init; }
    /// <summary>Batch sizes to warm on each unit before the run besides the ones the plan runs (e.g. every measured size).</summary>
    public IReadOnlyDictionary<string, int[]>? WarmSizes { get; init; }
}
