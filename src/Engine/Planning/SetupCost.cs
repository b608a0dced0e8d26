using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Planning;

/// <summary>
/// A cold unit's setup estimate: what the executor pays before its clock to run a share on it. A session not yet
/// open costs its <see cref="PerfEntry.OpenMs"/> (opening and first run) and then each size of the share its
/// <see cref="PerfEntry.WarmUpMs"/>; an open session costs the warm-ups of its sizes not yet warm. The numbers come
/// from the profile (the profiler pays the same costs, on a session it opens, before it times a size); whether the
/// session is open and which sizes are warm comes from the process that will run (its session cache).
/// </summary>
public static class SetupCost
{
    /// <summary>
    /// Milliseconds of setup to run <paramref name="sizes"/> on a unit whose profile rows are <paramref name="unitRows"/>:
    /// 0 when it is warm for them; null when it is cold and the rows do not tell the cost (a table from before the
    /// costs were recorded, or a profile made on a session already open).
    /// </summary>
    /// <param name="unitRows">The unit's rows for the model and the run's options.</param>
    /// <param name="sessionOpen">The unit's session for this model and options is open in the process that will run.</param>
    /// <param name="isWarm">On an open session, whether a size is warm (ignored when the session is not open).</param>
    /// <param name="sizes">The batch sizes the unit's share runs.</param>
    public static double? Estimate(IReadOnlyList<PerfEntry> unitRows, bool sessionOpen, Func<int, bool> isWarm, IEnumerable<int> sizes)
    {
        ArgumentNullException.ThrowIfNull(unitRows);
        ArgumentNullException.ThrowIfNull(isWarm);
        var needed = (sizes ?? throw new ArgumentNullException(nameof(sizes))).Where(b => b > 0).Distinct().Order().ToArray();
        var cold = sessionOpen ? needed.Where(b => !isWarm(b)).ToArray() : needed;
        if (sessionOpen && cold.Length == 0) return 0;
        double total = 0;
        if (!sessionOpen)
        {
            // The newest profile's: it is the session as it opens now (drivers, model file).
            var open = unitRows.Where(r => r.OpenMs is not null).OrderByDescending(r => r.Timestamp).Select(r => r.OpenMs).FirstOrDefault();
            if (open is null) return null;
            total += open.Value;
        }
        var known = unitRows.Where(r => r.WarmUpMs is not null && string.Equals(r.Status, PerfStatus.Ok, StringComparison.OrdinalIgnoreCase))
            .GroupBy(r => r.BatchSize).Select(g => (Size: g.Key, Ms: g.OrderByDescending(r => r.Timestamp).First().WarmUpMs!.Value))
            .OrderBy(p => p.Size).ToArray();
        foreach (var b in cold)
        {
            if (WarmUpAt(known, b) is not { } ms) return null;
            total += ms;
        }
        return total;
    }

    /// <summary>A size's warm-up: its row's, or between two profiled sizes the linear interpolation, beyond them the
    /// nearest (a CPU runs unprofiled sizes; on a CPU every warm-up after the first is 0 anyway).</summary>
    private static double? WarmUpAt((int Size, double Ms)[] known, int size)
    {
        if (known.Length == 0) return null;
        int above = Array.FindIndex(known, p => p.Size >= size);
        if (above < 0) return known[^1].Ms;
        if (known[above].Size == size || above == 0) return known[above].Ms;
        var (lo, hi) = (known[above - 1], known[above]);
        return lo.Ms + (hi.Ms - lo.Ms) * (size - lo.Size) / (hi.Size - lo.Size);
    }
}
