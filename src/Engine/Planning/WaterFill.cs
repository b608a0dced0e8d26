namespace HeteroBatch.Engine.Planning;

/// <summary>
/// Spreads items over workers (units or machines) so that they are predicted to finish together: a worker's finish
/// time is its busy time plus items × its milliseconds per item, and items fill the earliest-finishing workers first.
/// Used to re-plan a failed worker's items when no cost curves are at hand.
/// </summary>
public static class WaterFill
{
    /// <summary>
    /// Items per worker (summing to <paramref name="items"/> exactly; largest remainders first). A worker of unknown
    /// speed (NaN, ≤ 0) counts as the average of the known ones, or 1 ms per item when none is known.
    /// </summary>
    public static int[] Split(int items, IReadOnlyList<double> busyMs, IReadOnlyList<double> msPerItem)
    {
        int n = busyMs.Count;
        if (msPerItem.Count != n) throw new ArgumentException("One speed per worker is needed.", nameof(msPerItem));
        if (n == 0 || items <= 0) return new int[n];
        var known = msPerItem.Where(m => double.IsFinite(m) && m > 0).ToList();
        double fallback = known.Count > 0 ? known.Average() : 1.0;
        var rate = msPerItem.Select(m => double.IsFinite(m) && m > 0 ? m : fallback).ToArray();
        var busy = busyMs.Select(b => Math.Max(0, double.IsFinite(b) ? b : 0)).ToArray();

        // The common finish time T with sum max(0, (T - busy)/rate) = items, by bisection.
        double lo = busy.Min(), hi = busy.Max() + items * rate.Max() + 1;
        for (int iter = 0; iter < 100; iter++)
        {
            double mid = (lo + hi) / 2, fits = 0;
            for (int i = 0; i < n; i++) fits += Math.Max(0, (mid - busy[i]) / rate[i]);
            if (fits >= items) hi = mid; else lo = mid;
        }
        var exact = busy.Select((b, i) => Math.Max(0, (hi - b) / rate[i])).ToArray();
        double sum = exact.Sum();
        var counts = exact.Select(e => (int)Math.Floor(e / sum * items)).ToArray();
        int left = items - counts.Sum();
        foreach (var i in Enumerable.Range(0, n).OrderByDescending(i => exact[i] / sum * items - counts[i]).ThenBy(i => i))
        {
            if (left == 0) break;
            counts[i]++; left--;
        }
        return counts;
    }

    /// <summary>The predicted finish of a worker given <paramref name="items"/> (same fallback for unknown speeds).</summary>
    public static double FinishMs(double busyMs, int items, double msPerItem, IReadOnlyList<double> allMsPerItem)
    {
        var known = allMsPerItem.Where(m => double.IsFinite(m) && m > 0).ToList();
        double rate = double.IsFinite(msPerItem) && msPerItem > 0 ? msPerItem : known.Count > 0 ? known.Average() : 1.0;
        return Math.Max(0, double.IsFinite(busyMs) ? busyMs : 0) + items * rate;
    }
}
