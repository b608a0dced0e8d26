using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Planning;

/// <summary>
/// The planning algorithms over cost curves, one switch for units (<see cref="BatchPlanner"/>) and machines
/// (<see cref="MachinePlanner"/>): <see cref="ICostCurve"/> makes them the same problem.
/// </summary>
internal static class SplitAlgorithms
{
    /// <summary>Splits <paramref name="items"/> over the workers of <paramref name="curves"/> with <paramref name="algorithm"/>
    /// (<paramref name="greedyMaxRounds"/> limits GreedyImproved; <paramref name="seedEstimates"/>, per worker, is the
    /// seed's estimate, null or a null entry using the worker's curve). Throws InvalidAlgorithm, or
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.</summary>
    public static SplitOutcome Split(IReadOnlyList<ICostCurve> curves, int items, PlanAlgorithm algorithm, int greedyMaxRounds,
        IReadOnlyList<Func<int, double>?>? seedEstimates, CancellationToken cancellationToken)
    {
        switch (algorithm)
        {
            case PlanAlgorithm.Optimal:
                var optimal = SplitSolver.Split(curves, items, cancellationToken);
                return new SplitOutcome(optimal.Items, optimal.MakespanMs, null);
            case PlanAlgorithm.Seed:
                var estimates = curves.Select((c, i) => seedEstimates?[i] ?? c.Cost).ToArray();
                return new SplitOutcome(SeedSearch.Split(estimates, items, cancellationToken).Items, double.NaN, "the seed's search moved no items to it");
            case PlanAlgorithm.GreedyImproved:
                var greedy = BaselineSplits.GreedyImproved(curves, items, greedyMaxRounds, cancellationToken);
                return new SplitOutcome(greedy.Items, double.NaN, greedy.Capped
                    ? $"the greedy search moved no items to it before its limit of {greedyMaxRounds} rounds"
                    : "the greedy search moved no items to it");
            case PlanAlgorithm.Proportional:
                return new SplitOutcome(BaselineSplits.Proportional(curves, items), double.NaN,
                    "its share of the batch, proportional to its throughput, rounds to 0 items");
            case PlanAlgorithm.Even:
                return new SplitOutcome(BaselineSplits.Even(curves, items), double.NaN, "the batch has fewer items than units");
            default:
                throw new HeteroBatchException(PlanningErrorIds.InvalidAlgorithm, ErrorKind.InvalidArgument, $"Unknown planning algorithm '{algorithm}'.", algorithm);
        }
    }
}
