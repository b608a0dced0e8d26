namespace HeteroBatch.Engine.Planning;

/// <summary>
/// The seed paper's search (<c>Partitioner.startPartition</c> in <c>Partition.py</c> of
/// sjlee25/batch-partitioning), ported rule for rule. Units are in the paper's device order (its CPU, iGPU,
/// GPUs); the order decides ties.
/// <list type="number">
/// <item>All items start on the base: the unit with the lowest estimate for the whole batch (ties: the first).</item>
/// <item>A round: with trial = 2^(rounds since the last move), the base's time with <b>one item fewer</b> is the
/// bar. Moving trial items to unit v is allowed when the base holds ≥ trial items and, after the move, no unit
/// other than the base is estimated above the bar. Of the allowed moves the one leaving v the largest gap
/// (bar − v's time) is made, ties to the <b>last</b> unit. A move resets trial to 1.</item>
/// <item>After two rounds in a row without a move, the unit slowest for the whole batch (ties: the first)
/// becomes the base for one last round, and the search ends.</item>
/// <item>The search also ends as soon as the base holds exactly 1 item.</item>
/// </list>
/// The only departure: where the base holds no item the original would ask for its time with −1 items and fail;
/// here the search ends there with the split it has.
/// </summary>
public static class SeedSearch
{
    /// <summary>Splits <paramref name="items"/> over units whose time for n items is <paramref name="estimates"/>[u](n).</summary>
    /// <param name="estimates">Each unit's estimate (<see cref="SeedEstimate.Ms"/>, or a cost curve's
    /// <see cref="ICostCurve.Cost"/> where the table's exec/I-O split is not at hand); +∞ for a unit that cannot
    /// run the model, which is then left out as the paper leaves out absent devices.</param>
    /// <param name="items">Items in the batch (≥ 0).</param>
    /// <param name="cancellationToken">Checked every round.</param>
    public static SeedResult Split(IReadOnlyList<Func<int, double>> estimates, int items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(estimates);
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        int n = estimates.Count;
        var counts = new int[n];
        var whole = new double[n];
        var usable = new List<int>();
        for (int u = 0; u < n; u++)
        {
            whole[u] = items == 0 ? 0 : estimates[u](items);
            if (!double.IsPositiveInfinity(estimates[u](1))) usable.Add(u);
        }
        if (items == 0 || usable.Count == 0) return Result(0);

        int baseUnit = usable[0];
        foreach (int u in usable) if (whole[u] < whole[baseUnit]) baseUnit = u;
        counts[baseUnit] = items;

        int rounds = 0, idle = 0, baseChanges = 0;
        var now = new double[n];
        while (baseChanges < 1)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (rounds > 0 && idle > 1)
            {
                baseUnit = usable[0];
                foreach (int u in usable) if (whole[u] > whole[baseUnit]) baseUnit = u;
                baseChanges++;
                idle = 0;
            }
            // Partition.py would evaluate the base at -1 items here and raise.
            if (counts[baseUnit] == 0) break;

            double bar = estimates[baseUnit](counts[baseUnit] - 1);
            int trial = idle >= 31 ? int.MaxValue : 1 << idle;
            int chosen = -1;
            double bestGap = double.NegativeInfinity;
            if (trial <= counts[baseUnit])
            {
                foreach (int w in usable) if (w != baseUnit) now[w] = estimates[w](counts[w]);
                foreach (int v in usable)
                {
                    if (v == baseUnit) continue;
                    double after = estimates[v](counts[v] + trial);
                    bool allowed = !(after > bar);
                    foreach (int w in usable)
                        if (w != baseUnit && w != v && now[w] > bar) { allowed = false; break; }
                    if (!allowed) continue;
                    double gap = bar - after;
                    if (gap >= bestGap) { bestGap = gap; chosen = v; } // >=: ties to the last unit, as the original
                }
            }
            if (chosen >= 0)
            {
                counts[baseUnit] -= trial;
                counts[chosen] += trial;
                idle = 0;
            }
            else idle++;
            rounds++;
            if (counts[baseUnit] == 1) break;
        }
        return Result(rounds);

        SeedResult Result(int r) =>
            new(counts, r, Enumerable.Range(0, n).Select(u => counts[u] == 0 ? 0 : estimates[u](counts[u])).ToArray());
    }

    /// <summary>The search on seed estimates built from the table (<see cref="SeedEstimate"/>).</summary>
    public static SeedResult Split(IReadOnlyList<SeedEstimate> units, int items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(units);
        return Split(units.Select(u => (Func<int, double>)u.Ms).ToArray(), items, cancellationToken);
    }
}
