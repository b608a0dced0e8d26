using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Planning;

/// <summary>
/// The seed paper's estimate of one unit's time for b items (<c>estimateDevTime</c> in <c>Partition.py</c> of
/// sjlee25/batch-partitioning), from the unit's measured per-item exec and I/O times. It is not the planner's
/// cost model (<see cref="UnitCostCurve"/>): it is what <see cref="SeedSearch"/> decides by, kept as the paper
/// has it so the search reproduces the paper's splits.
/// <list type="bullet">
/// <item>b measured: the per-item <b>exec</b> time × b (I/O left out, as the original does).</item>
/// <item>b above the largest measured size: the largest size's per-item exec time × b.</item>
/// <item>otherwise: per-item exec and per-item I/O each interpolated linearly between the sizes 2^k+1 and
/// 2^(k+1)−1 around b (k = ⌊log2 b⌋; the paper measures 2^k−1, 2^k and 2^k+1), summed and × b.</item>
/// </list>
/// Where the table lacks one of those two sizes (a table not measured on the paper's grid, where the original
/// fails with a KeyError) the nearest measured sizes below and above b are used instead, and below the smallest
/// measured size its per-item exec time × b.
/// </summary>
public sealed class SeedEstimate
{
    private readonly SortedDictionary<int, (double Exec, double Io)> _perItem;
    private readonly int[] _sizes;

    /// <param name="unit">Unit id, for plans and messages.</param>
    /// <param name="points">Measured (batch size, whole-batch exec ms, whole-batch I/O ms); sizes distinct, ≥ 1.</param>
    public SeedEstimate(string unit, IEnumerable<(int BatchSize, double ExecMs, double IoMs)> points)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        ArgumentNullException.ThrowIfNull(points);
        Unit = unit;
        _perItem = new SortedDictionary<int, (double, double)>();
        foreach (var (size, exec, io) in points)
        {
            if (size < 1) throw new ArgumentOutOfRangeException(nameof(points), size, "Batch sizes must be ≥ 1.");
            // The paper stores per-item times (a run's time / its batch size); the table stores whole batches.
            if (!_perItem.TryAdd(size, (exec / size, io / size)))
                throw new ArgumentException($"Unit '{unit}' has two measurements of batch size {size}.", nameof(points));
        }
        _sizes = _perItem.Keys.ToArray();
    }

    /// <summary>Unit id.</summary>
    public string Unit { get; }

    /// <summary>False when the unit has no measurement (it cannot take part in the search).</summary>
    public bool IsUsable => _sizes.Length > 0;

    /// <summary>
    /// The seed estimate from a unit's performance-table rows: status-Ok rows below <paramref name="limitBatchSize"/>
    /// (the size that ran out of memory or time, if any).
    /// </summary>
    public static SeedEstimate FromRows(string unit, IEnumerable<PerfEntry> rows, int? limitBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new SeedEstimate(unit, rows
            .Where(r => string.Equals(r.Status, PerfStatus.Ok, StringComparison.OrdinalIgnoreCase))
            .Where(r => limitBatchSize is not int l || r.BatchSize < l)
            .Select(r => (r.BatchSize, r.ExecMs, r.IoMs)));
    }

    /// <summary>
    /// The seed estimate of a unit of a cost model, from the same table rows its curve was built from: the rows of
    /// the unit, machine and model whose batch size and total time are the curve's measured points. Null when the
    /// rows do not hold all of them (the curve was built elsewhere); callers then use the curve itself.
    /// </summary>
    public static SeedEstimate? ForCurve(UnitCostCurve curve, IEnumerable<PerfEntry> rows, string model, string modelHash)
    {
        ArgumentNullException.ThrowIfNull(curve);
        ArgumentNullException.ThrowIfNull(rows);
        var points = new List<(int, double, double)>();
        var wanted = curve.Points.ToDictionary(p => p.BatchSize, p => p.TotalMs);
        foreach (var r in rows)
        {
            if (r is null || !string.Equals(r.Unit, curve.Unit, StringComparison.OrdinalIgnoreCase)) continue;
            if (curve.MachineName.Length > 0 && !string.Equals(r.MachineName, curve.MachineName, StringComparison.OrdinalIgnoreCase)) continue;
            bool sameModel = modelHash.Length > 0 && string.Equals(r.ModelHash, modelHash, StringComparison.OrdinalIgnoreCase)
                || string.Equals(r.Model, model, StringComparison.OrdinalIgnoreCase);
            if (!sameModel || !string.Equals(r.Status, PerfStatus.Ok, StringComparison.OrdinalIgnoreCase)) continue;
            if (wanted.TryGetValue(r.BatchSize, out double total) && r.TotalMs == total)
            {
                wanted.Remove(r.BatchSize);
                points.Add((r.BatchSize, r.ExecMs, r.IoMs));
            }
        }
        return wanted.Count == 0 && points.Count > 0 ? new SeedEstimate(curve.Unit, points) : null;
    }

    /// <summary>Estimated milliseconds for <paramref name="items"/> items; 0 for 0, +∞ for a unit with no measurement.</summary>
    public double Ms(int items)
    {
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        if (items == 0) return 0;
        if (_sizes.Length == 0) return double.PositiveInfinity;
        if (_perItem.TryGetValue(items, out var measured)) return measured.Exec * items;
        int max = _sizes[^1];
        if (items > max) return _perItem[max].Exec * items;

        int k = 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)items);
        int lo = (1 << k) + 1, hi = (1 << (k + 1)) - 1;
        if (lo >= hi || lo > items || !_perItem.ContainsKey(lo) || !_perItem.ContainsKey(hi))
        {
            int below = Array.FindLast(_sizes, s => s < items);
            if (below == 0) return _perItem[_sizes[0]].Exec * items;
            lo = below;
            hi = Array.Find(_sizes, s => s > items);
        }
        var (e0, i0) = _perItem[lo];
        var (e1, i1) = _perItem[hi];
        return Interp(items, lo, hi, e0, e1) * items + Interp(items, lo, hi, i0, i1) * items;
    }

    // The same operations, in the same order, as numpy.interp, so ties fall as in the original.
    private static double Interp(int x, int x0, int x1, double y0, double y1)
    {
        double slope = (y1 - y0) / (x1 - x0);
        return slope * (x - x0) + y0;
    }
}
