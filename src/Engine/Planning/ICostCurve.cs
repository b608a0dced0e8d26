namespace HeteroBatch.Engine.Planning;

/// <summary>
/// "How long does this worker take for n items": the only thing the split search needs to know about a
/// worker. A compute unit's curve (<see cref="UnitCostCurve"/>) implements it from the performance table; a
/// whole machine implements it as the makespan of its own best plan for n items
/// (<see cref="AggregateCostCurve"/>), so the same <see cref="SplitSolver"/> can split a batch across machines
/// and then each machine's share across its units.
/// </summary>
/// <remarks>
/// Contract: <c>Cost(0) == 0</c>; <c>Cost(n) &gt; 0</c> for <c>n ≥ 1</c>; non-decreasing in n; positive infinity
/// when the worker cannot take n items at all. <see cref="Capacity"/> must agree exactly with <see cref="Cost"/>
/// (same floating-point comparisons), because the search mixes the two.
/// </remarks>
public interface ICostCurve
{
    /// <summary>Name shown in plans: a unit id, or a machine name for an aggregate.</summary>
    string Name { get; }

    /// <summary>Predicted milliseconds to process <paramref name="items"/> items (≥ 0) in the best way available.</summary>
    double Cost(int items);

    /// <summary>The largest n in [0, <paramref name="limit"/>] with <c>Cost(n) ≤ budgetMs</c>.</summary>
    int Capacity(double budgetMs, int limit);

    /// <summary>A lower bound of <c>Cost(n)/n</c> over n ≥ 1 (the best per-item time); 0 when unknown,
    /// positive infinity for a worker that can run nothing. Only used to start the search closer to the answer.</summary>
    double MinMsPerItem { get; }
}

/// <summary>Helpers for implementing and combining <see cref="ICostCurve"/>s.</summary>
public static class CostCurves
{
    /// <summary><see cref="ICostCurve.Capacity"/> by binary search over <see cref="ICostCurve.Cost"/> (which is
    /// non-decreasing), so the two always agree.</summary>
    public static int CapacityBySearch(ICostCurve curve, double budgetMs, int limit)
    {
        ArgumentNullException.ThrowIfNull(curve);
        if (limit <= 0 || !(budgetMs >= 0)) return 0;
        if (curve.Cost(limit) <= budgetMs) return limit;
        int lo = 0, hi = limit; // Cost(lo) <= budget < Cost(hi)
        while (hi - lo > 1)
        {
            int mid = lo + (hi - lo) / 2;
            if (curve.Cost(mid) <= budgetMs) lo = mid; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// The curve of a worker that can start only after <paramref name="delayMs"/> (work already queued on it, a
    /// transfer to another machine): <c>Cost(n) = delay + inner.Cost(n)</c> for n ≥ 1, still 0 for n = 0 because
    /// a worker given no items adds nothing to the makespan.
    /// </summary>
    public static ICostCurve Delayed(ICostCurve inner, double delayMs)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!(delayMs >= 0) || double.IsInfinity(delayMs))
            throw new ArgumentOutOfRangeException(nameof(delayMs), delayMs, "The delay must be a finite number of milliseconds ≥ 0.");
        return delayMs == 0 ? inner : new DelayedCostCurve(inner, delayMs);
    }

    private sealed class DelayedCostCurve(ICostCurve inner, double delayMs) : ICostCurve
    {
        public string Name => inner.Name;
        public double Cost(int items) => items <= 0 ? inner.Cost(items) : delayMs + inner.Cost(items);
        public int Capacity(double budgetMs, int limit) => CapacityBySearch(this, budgetMs, limit);
        public double MinMsPerItem => inner.MinMsPerItem;
        public ICostCurve Inner => inner;
    }

    /// <summary>The curve under any wrappers added by <see cref="Delayed"/>.</summary>
    public static ICostCurve Unwrap(ICostCurve curve) => curve is DelayedCostCurve d ? Unwrap(d.Inner) : curve;
}
