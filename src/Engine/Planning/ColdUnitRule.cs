using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Planning;

/// <summary>
/// The planner does not give a cold unit work whose setup costs more than it saves. A plan's cost to the caller is
/// its setup plus its run: the executor opens and warms every unit of the plan before it starts its clock, all units
/// at once, each on its own worker (<c>HeteroExecutor</c>'s Setup), so the setup is the <b>largest</b> of the plan's
/// units' setups, not their sum, and the run is the plan's predicted makespan:
/// <code>cost(P) = max over units u with items in P of setup_u(P) + P.PredictedMs</code>
/// where setup_u(P) is 0 for a unit warm for the sizes its share in P runs. The rule compares the plan over every unit
/// with the best plans without the k cold units of largest setup (k = 1, 2, …, at least one unit left), each planned
/// again (the others' shares, and so their sizes and setups, change), and runs the cheapest; a tie keeps the units.
/// Only these candidates are needed: leaving out a cold unit while one with a larger setup stays does not lower the
/// setup (the maximum) and, the planner being optimal, does not shorten the run. A unit whose setup is unknown makes
/// the comparison impossible: the plan over every unit is kept.
/// </summary>
public static class ColdUnitRule
{
    /// <param name="units">The run's units, in plan order.</param>
    /// <param name="plan">Plans the batch over a subset of the units (the run's planner).</param>
    /// <param name="setup">A unit's setup to run its share (0: warm; null: cold, cost unknown); see <see cref="SetupCost"/>.</param>
    /// <param name="cancellationToken">Checked between the plans it compares.</param>
    public static ColdUnitOutcome Apply(IReadOnlyList<string> units, Func<IReadOnlyList<string>, BatchPlan> plan,
        Func<UnitShare, double?> setup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(setup);
        var all = Evaluate(units, plan, setup);
        if (all.Unknown.Count > 0) return new ColdUnitOutcome { Plan = all.Plan, UnknownSetup = all.Unknown };
        var cold = all.Setups.Where(s => s.Ms > 0).OrderByDescending(s => s.Ms).ToList();
        var outcome = new ColdUnitOutcome
        {
            Plan = all.Plan, ColdKept = cold, WithAllMs = all.Cost, ChosenMs = all.Cost, SetupMs = all.SetupMs,
        };
        if (cold.Count == 0) return outcome;

        var best = all;
        int bestK = 0;
        for (int k = 1; k <= cold.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dropped = cold.Take(k).Select(c => c.Unit).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var rest = units.Where(u => !dropped.Contains(u)).ToArray();
            if (rest.Length == 0) break;
            Evaluation candidate;
            try { candidate = Evaluate(rest, plan, setup); }
            catch (HeteroBatchException) { continue; } // the others cannot run the batch (memory limits): keep the units
            // A unit that gets items only without the others, with an unknown setup, cannot be compared.
            if (candidate.Unknown.Count > 0) continue;
            if (candidate.Cost < best.Cost) { best = candidate; bestK = k; }
        }
        if (bestK == 0) return outcome;

        double saved = best.Plan.PredictedMs - all.Plan.PredictedMs;
        var leftOut = cold.Take(bestK).Select(c => new LeftOutUnit
        {
            Unit = c.Unit,
            SetupMs = c.Ms,
            SavedMs = saved,
            BatchSizes = all.Plan.Shares.First(s => string.Equals(s.Unit, c.Unit, StringComparison.OrdinalIgnoreCase)).ExecutedBatchSizes.Distinct().Order().ToArray(),
        }).ToArray();
        return new ColdUnitOutcome
        {
            Plan = WithLeftOut(best.Plan, all.Plan, units, leftOut),
            LeftOut = leftOut,
            ColdKept = best.Setups.Where(s => s.Ms > 0).ToArray(),
            WithAllMs = all.Cost,
            ChosenMs = best.Cost,
            SetupMs = best.SetupMs,
        };
    }

    /// <summary><paramref name="plan"/> listing the units left out too, with no items and the reason, in unit order (as
    /// the planner lists a unit it gives nothing).</summary>
    private static BatchPlan WithLeftOut(BatchPlan plan, BatchPlan withAll, IReadOnlyList<string> units, IReadOnlyList<LeftOutUnit> leftOut)
    {
        var shares = new List<UnitShare>();
        int offset = plan.FirstItem;
        foreach (var unit in units)
        {
            var share = plan.Shares.FirstOrDefault(s => string.Equals(s.Unit, unit, StringComparison.OrdinalIgnoreCase));
            var left = leftOut.FirstOrDefault(l => string.Equals(l.Unit, unit, StringComparison.OrdinalIgnoreCase));
            if (share is null && left is not null)
            {
                share = new UnitShare
                {
                    Unit = unit,
                    MachineName = withAll.Shares.FirstOrDefault(s => string.Equals(s.Unit, unit, StringComparison.OrdinalIgnoreCase))?.MachineName ?? "",
                    Items = 0,
                    Offset = offset,
                    Reason = $"cold: its setup (about {Ms(left.SetupMs)} ms) costs more than the {Ms(left.SavedMs)} ms it would save the run",
                };
            }
            if (share is null) continue;
            shares.Add(share);
            if (share.Items > 0) offset = share.Offset + share.Items;
        }
        // Shares of units not in the list (none from the run's planner) keep their place at the end.
        shares.AddRange(plan.Shares.Where(s => !shares.Contains(s)));
        return plan with { Shares = shares.ToArray() };
    }

    private static string Ms(double ms) => ms.ToString(ms >= 100 ? "N0" : "0.##", System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Evaluation(BatchPlan Plan, IReadOnlyList<(string Unit, double Ms)> Setups, IReadOnlyList<string> Unknown)
    {
        public double SetupMs => Setups.Count == 0 ? 0 : Math.Max(0, Setups.Max(s => s.Ms));
        public double Cost => SetupMs + Plan.PredictedMs;
    }

    private static Evaluation Evaluate(IReadOnlyList<string> units, Func<IReadOnlyList<string>, BatchPlan> plan, Func<UnitShare, double?> setup)
    {
        var p = plan(units);
        var setups = new List<(string, double)>();
        var unknown = new List<string>();
        foreach (var share in p.Shares.Where(s => s.Items > 0))
        {
            if (setup(share) is { } ms) setups.Add((share.Unit, ms));
            else unknown.Add(share.Unit);
        }
        return new Evaluation(p, setups, unknown);
    }
}
