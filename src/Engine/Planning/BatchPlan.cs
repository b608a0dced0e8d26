namespace HeteroBatch.Engine.Planning;

/// <summary>Planning algorithms (<c>-Algorithm</c>).</summary>
public enum PlanAlgorithm
{
    /// <summary>Exact minimum of the predicted makespan under the cost model.</summary>
    Optimal,
    /// <summary>The seed paper's search and estimate, ported faithfully (<see cref="SeedSearch"/>), as a baseline.</summary>
    Seed,
    /// <summary>A greedy search after the seed's, with changed rules, on the planner's cost curves
    /// (<see cref="BaselineSplits.GreedyImproved"/>).</summary>
    GreedyImproved,
    /// <summary>Items proportional to each unit's best throughput.</summary>
    Proportional,
    /// <summary>Equal split, as PyTorch's DataParallel.</summary>
    Even,
}

/// <summary>One unit's part of a plan: a contiguous slice [Offset, Offset+Items) of the batch.</summary>
public sealed record UnitShare
{
    /// <summary>Unit id as named in the table (<c>gpu0</c>, <c>cpu</c>, <c>node1/gpu0</c>).</summary>
    public required string Unit { get; init; }
    public string MachineName { get; init; } = "";
    public required int Items { get; init; }
    public required int Offset { get; init; }
    /// <summary>Batch sizes the unit runs, in order; a size above the items left is padded.</summary>
    public int[] ExecutedBatchSizes { get; init; } = Array.Empty<int>();
    public double PredictedMs { get; init; }
    /// <summary>Why a unit got no items (e.g. "slower than the makespan"); null otherwise.</summary>
    public string? Reason { get; init; }
}

/// <summary>
/// One machine's part of a plan across machines: a contiguous slice [Offset, Offset+Items) of the batch, which the
/// machine splits again over its own units (their shares are in <see cref="BatchPlan.Shares"/>, named
/// <c>machine/unit</c>, and tile this slice).
/// </summary>
public sealed record MachineShare
{
    /// <summary>The machine's name, as it reports it (<see cref="Units.ComputeUnit.MachineName"/>).</summary>
    public required string MachineName { get; init; }
    public required int Items { get; init; }
    public required int Offset { get; init; }
    /// <summary>Predicted time of the machine's share: its best local plan for <see cref="Items"/> items, plus <see cref="DelayMs"/>.</summary>
    public double PredictedMs { get; init; }
    /// <summary>Fixed cost of using the machine (a remote call's round trip) included in <see cref="PredictedMs"/>; 0 when not measured.</summary>
    public double DelayMs { get; init; }
    /// <summary>The machine's units in the plan, as <c>machine/unit</c>.</summary>
    public string[] Units { get; init; } = Array.Empty<string>();
    /// <summary>Why the machine got no items; null otherwise.</summary>
    public string? Reason { get; init; }
}

/// <summary>A split of one batch over units, with the prediction it was chosen by.</summary>
public sealed record BatchPlan
{
    public required string Model { get; init; }
    public string ModelHash { get; init; } = "";
    public required int BatchSize { get; init; }
    /// <summary>Index of the first item this plan covers in the whole batch: 0, or the start of a re-planned
    /// range (see <c>BatchPlanner.Replan</c>). Share offsets are always positions in the whole batch.</summary>
    public int FirstItem { get; init; }
    public required PlanAlgorithm Algorithm { get; init; }
    /// <summary>Predicted makespan: the slowest unit's predicted time.</summary>
    public required double PredictedMs { get; init; }
    public required string BestSingleUnit { get; init; }
    /// <summary>Predicted time of the best single unit running all items.</summary>
    public required double BestSingleUnitMs { get; init; }
    public double PredictedSpeedup => PredictedMs > 0 ? BestSingleUnitMs / PredictedMs : double.NaN;
    /// <summary>Every unit's share. In a plan across machines, units are named <c>machine/unit</c> and each
    /// machine's shares tile that machine's slice (see <see cref="MachineShares"/>).</summary>
    public required UnitShare[] Shares { get; init; }
    /// <summary>The first level of a plan across machines: one slice per machine, in batch order; empty for a
    /// plan on one machine. See <c>MachinePlanner</c>.</summary>
    public MachineShare[] MachineShares { get; init; } = Array.Empty<MachineShare>();
    /// <summary>Time spent planning, milliseconds.</summary>
    public double PlanningMs { get; init; }
}
