using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Planning;

/// <summary>A split of items over workers and its predicted makespan.</summary>
/// <param name="MakespanMs">The slowest worker's predicted time.</param>
/// <param name="Items">Items per worker, in the order the workers were given.</param>
public sealed record SplitResult(double MakespanMs, int[] Items);

/// <summary>
/// The optimal split: minimises the makespan max_u Cost_u(n_u) subject to Σ n_u = N, exactly, for any
/// non-decreasing cost curves (units, or machines as aggregates of their units).
/// </summary>
/// <remarks>
/// <para>With non-decreasing curves a makespan T is achievable iff Σ_u Capacity_u(T) ≥ N, where
/// Capacity_u(T) = max{n : Cost_u(n) ≤ T}; feasibility is monotone in T, and the optimum T* is one of the
/// values Cost_u(n). The search keeps an infeasible lo and a feasible hi (the best single worker) and
/// alternates a bisection step with a jump of lo to the next candidate value above it,
/// min_u Cost_u(Capacity_u(lo) + 1); the first such candidate that is feasible is T*, because no cost value
/// lies strictly between lo and it. Each step costs O(U log N) curve evaluations; about log2(N) steps.</para>
/// <para>Ties among makespan-optimal splits are broken deterministically: (1) use as few workers as possible,
/// preferring those with the largest capacity at T* and then the earlier ones; (2) within them, lexicographic
/// min-max by levels: a worker that must finish at the current level gets as many items as fit under it, which
/// lets the others finish earlier; then the same is solved for the rest. Unused workers get 0 items.</para>
/// </remarks>
public static class SplitSolver
{
    /// <summary>The smallest achievable makespan for <paramref name="items"/> items.</summary>
    /// <exception cref="HeteroBatchException">NoUsableUnit when no worker can take any item.</exception>
    public static double MinMakespan(IReadOnlyList<ICostCurve> curves, int items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        if (items == 0) return 0;
        return MinMakespan(curves, items, double.PositiveInfinity, cancellationToken);
    }

    /// <summary>The optimal split of <paramref name="items"/> items, with the tie-breaks described on the class.</summary>
    public static SplitResult Split(IReadOnlyList<ICostCurve> curves, int items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        var result = new int[curves.Count];
        if (items == 0) return new SplitResult(0, result);
        double makespan = MinMakespan(curves, items, double.PositiveInfinity, cancellationToken);

        // (1) Fewest workers: the largest capacities at T* first.
        var caps = new int[curves.Count];
        for (int u = 0; u < curves.Count; u++) caps[u] = curves[u].Capacity(makespan, items);
        var chosen = new List<int>();
        long covered = 0;
        foreach (int u in Enumerable.Range(0, curves.Count).OrderByDescending(u => caps[u]).ThenBy(u => u))
        {
            if (covered >= items) break;
            chosen.Add(u);
            covered += caps[u];
        }
        chosen.Sort();

        // (2) Level by level: the worker that absorbs most items at the level is filled to its capacity there.
        int left = items;
        double level = makespan;
        bool first = true;
        while (left > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (chosen.Count == 1) { result[chosen[0]] = left; break; }
            var sub = chosen.Select(u => curves[u]).ToArray();
            if (!first) level = MinMakespan(sub, left, level, cancellationToken);
            first = false;
            double below = Math.BitDecrement(level);
            int pick = -1, pickCap = 0, pickAbsorb = -1;
            foreach (int u in chosen)
            {
                int cap = curves[u].Capacity(level, left);
                int absorb = cap - curves[u].Capacity(below, left);
                if (absorb > pickAbsorb || (absorb == pickAbsorb && cap > pickCap)) { pick = u; pickCap = cap; pickAbsorb = absorb; }
            }
            int give = Math.Min(pickCap, left);
            result[pick] = give;
            left -= give;
            chosen.Remove(pick);
        }
        return new SplitResult(makespan, result);
    }

    /// <summary>True when every item fits within <paramref name="budgetMs"/>: Σ_u Capacity_u(budget) ≥ items.</summary>
    public static bool IsFeasible(IReadOnlyList<ICostCurve> curves, int items, double budgetMs)
    {
        long total = 0;
        for (int u = 0; u < curves.Count; u++)
        {
            total += curves[u].Capacity(budgetMs, items);
            if (total >= items) return true;
        }
        return false;
    }

    private static double MinMakespan(IReadOnlyList<ICostCurve> curves, int items, double hiHint, CancellationToken cancellationToken)
    {
        // hi: a feasible makespan (the best single worker, or the caller's hint).
        double hi = hiHint;
        for (int u = 0; u < curves.Count; u++) hi = Math.Min(hi, curves[u].Cost(items));
        if (double.IsPositiveInfinity(hi) && !IsFeasible(curves, items, double.MaxValue))
            throw new HeteroBatchException(PlanningErrorIds.NoUsableUnit, ErrorKind.ResourceUnavailable,
                $"None of the units ({string.Join(", ", curves.Select(c => c.Name))}) can run the model; see their reasons in the table (e.g. out of memory at batch size 1).");
        if (double.IsPositiveInfinity(hi)) hi = double.MaxValue;

        // lo: infeasible. N / Σ(1/rate) is a lower bound of the makespan when the rates are known.
        double inverseRates = 0;
        bool ratesKnown = true;
        for (int u = 0; u < curves.Count; u++)
        {
            double r = curves[u].MinMsPerItem;
            if (double.IsPositiveInfinity(r)) continue;
            if (!(r > 0)) { ratesKnown = false; break; }
            inverseRates += 1 / r;
        }
        double lo = 0;
        if (ratesKnown && inverseRates > 0)
        {
            double bound = items / inverseRates * (1 - 1e-9);
            if (bound < hi && !IsFeasible(curves, items, bound)) lo = bound;
        }
        if (IsFeasible(curves, items, lo)) return lo; // only with a curve that breaks Cost(n ≥ 1) > 0

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The next cost value above lo; no makespan in (lo, next) is achievable.
            double next = double.PositiveInfinity;
            for (int u = 0; u < curves.Count; u++)
            {
                int cap = curves[u].Capacity(lo, items);
                if (cap < items) next = Math.Min(next, curves[u].Cost(cap + 1));
            }
            if (!(next > lo))
                throw new InvalidOperationException(
                    $"A cost curve among {string.Join(", ", curves.Select(c => c.Name))} is not non-decreasing: the next cost above {lo} ms is {next} ms.");
            if (IsFeasible(curves, items, next)) return next;
            lo = next;
            double mid = lo + (hi - lo) / 2;
            if (mid > lo && mid < hi)
            {
                if (IsFeasible(curves, items, mid)) hi = mid; else lo = mid;
            }
        }
    }
}
