namespace HeteroBatch.Engine.Planning;

/// <summary>Result of <see cref="BaselineSplits.GreedyImproved"/>.</summary>
/// <param name="Items">Items per worker, in the order the workers were given.</param>
/// <param name="Rounds">Rounds run (one round tries one move to every other worker).</param>
/// <param name="Capped">True when the search stopped at the round limit instead of converging.</param>
public sealed record GreedyResult(int[] Items, int Rounds, bool Capped);

/// <summary>
/// The comparison splits: a greedy search after the seed's (with changed rules), a split proportional to
/// throughput, and an even split. They use the same cost curves as the optimal split, so their predicted
/// makespans compare fairly. The seed's own search, rule for rule, is <see cref="SeedSearch"/>.
/// </summary>
public static class BaselineSplits
{
    /// <summary>Default round limit of <see cref="GreedyImproved"/>.</summary>
    public const int DefaultGreedyMaxRounds = 10_000_000;

    /// <summary>
    /// A greedy search after the seed's, with rules changed so that it lands nearer the optimum than the faithful
    /// port (<see cref="SeedSearch"/>). Where it differs from the seed: a move is judged against the base's <i>current</i> time, not its time with one item fewer; the
    /// receiver is the move leaving the largest margin over the slowest other unit, ties to the earlier unit;
    /// trial is not reset to 1 after a move; the pass runs to convergence instead of stopping when the base
    /// holds 1 item; the second pass starts from the unit slowest <i>in the current split</i> and runs to
    /// convergence, not one round; and it decides on the planner's cost curves, not the seed's estimate.
    /// All items start on the worker fastest for the whole batch (the base). Each
    /// round tries, for every other worker, moving <c>trial</c> items from the base to it; a move is acceptable
    /// when afterwards no worker other than the base is predicted slower than the base is now (before the move);
    /// of the acceptable moves the one that leaves the largest margin (base's current time minus the slowest
    /// other worker's time after the move) is made, ties to the earlier worker. <c>trial</c> starts at 1 and
    /// doubles after every round without a move; the pass stops after two consecutive rounds without a move.
    /// Then one more pass runs the same way with the slowest worker as the base (ties to the earlier worker),
    /// which takes back the overshoot the "slower than the base before the move" rule allows.
    /// </summary>
    public static GreedyResult GreedyImproved(IReadOnlyList<ICostCurve> curves, int items, int maxRounds = DefaultGreedyMaxRounds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        int n = curves.Count;
        var counts = new int[n];
        var times = new double[n];
        if (items == 0 || n == 0) return new GreedyResult(counts, 0, false);

        int start = 0;
        for (int u = 1; u < n; u++) if (curves[u].Cost(items) < curves[start].Cost(items)) start = u;
        counts[start] = items;
        times[start] = curves[start].Cost(items);

        int rounds = 0;
        bool capped = !Pass(start);
        if (!capped)
        {
            int slowest = 0;
            for (int u = 1; u < n; u++) if (times[u] > times[slowest]) slowest = u;
            capped = !Pass(slowest);
        }
        return new GreedyResult(counts, rounds, capped);

        bool Pass(int baseUnit)
        {
            long trial = 1;
            int idle = 0;
            while (idle < 2)
            {
                if (rounds >= maxRounds) return false;
                if ((rounds & 1023) == 0) cancellationToken.ThrowIfCancellationRequested();
                rounds++;
                double baseNow = times[baseUnit];
                int best = -1;
                double bestMargin = double.NegativeInfinity, bestTime = 0;
                if (counts[baseUnit] >= trial)
                {
                    // Slowest and second slowest of the others, so "max over w ≠ base, v" is O(1).
                    int top = -1, second = -1;
                    for (int w = 0; w < n; w++)
                    {
                        if (w == baseUnit) continue;
                        if (top < 0 || times[w] > times[top]) { second = top; top = w; }
                        else if (second < 0 || times[w] > times[second]) second = w;
                    }
                    for (int v = 0; v < n; v++)
                    {
                        if (v == baseUnit) continue;
                        double after = curves[v].Cost(counts[v] + (int)trial);
                        int otherIndex = v == top ? second : top;
                        double others = Math.Max(after, otherIndex >= 0 ? times[otherIndex] : 0);
                        if (!(others <= baseNow)) continue;
                        double margin = baseNow - others;
                        if (margin > bestMargin) { bestMargin = margin; best = v; bestTime = after; }
                    }
                }
                if (best >= 0)
                {
                    counts[baseUnit] -= (int)trial;
                    counts[best] += (int)trial;
                    times[baseUnit] = curves[baseUnit].Cost(counts[baseUnit]);
                    times[best] = bestTime;
                    idle = 0;
                }
                else
                {
                    trial = Math.Min(trial * 2, int.MaxValue);
                    idle++;
                }
            }
            return true;
        }
    }

    /// <summary>
    /// Items proportional to each worker's best throughput (1 / <see cref="ICostCurve.MinMsPerItem"/>), rounded
    /// by largest remainder (ties to the earlier worker). Workers that can run nothing get 0.
    /// </summary>
    public static int[] Proportional(IReadOnlyList<ICostCurve> curves, int items)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var weights = curves.Select(c => c.Cost(1) < double.PositiveInfinity && c.MinMsPerItem > 0 && double.IsFinite(c.MinMsPerItem) ? 1 / c.MinMsPerItem : 0).ToArray();
        double total = weights.Sum();
        if (total <= 0) return Even(curves, items);
        var exact = weights.Select(w => items * w / total).ToArray();
        var result = exact.Select(e => (int)Math.Floor(e)).ToArray();
        int left = items - result.Sum();
        foreach (int u in Enumerable.Range(0, curves.Count).Where(u => weights[u] > 0)
                     .OrderByDescending(u => exact[u] - result[u]).ThenBy(u => u))
        {
            if (left == 0) break;
            result[u]++;
            left--;
        }
        return result;
    }

    /// <summary>An equal split over the workers that can run the model (the first ones get one more), as
    /// PyTorch's DataParallel does.</summary>
    public static int[] Even(IReadOnlyList<ICostCurve> curves, int items)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var usable = Enumerable.Range(0, curves.Count).Where(u => curves[u].Cost(1) < double.PositiveInfinity).ToArray();
        var result = new int[curves.Count];
        if (usable.Length == 0) return result;
        for (int i = 0; i < usable.Length; i++)
            result[usable[i]] = items / usable.Length + (i < items % usable.Length ? 1 : 0);
        return result;
    }
}
