using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>A unit's table as the tests write it: Ok points and an optional limit row.</summary>
internal sealed record TestUnit(string Name, (int Size, double Ms)[] Points, int? Limit = null, string LimitStatus = PerfStatus.OutOfMemory)
{
    public IEnumerable<PerfEntry> Rows(string model = "net", string machine = "host", string hash = "")
    {
        foreach (var (size, ms) in Points)
            yield return new PerfEntry { Model = model, ModelHash = hash, MachineName = machine, Unit = Name, BatchSize = size, ExecMs = ms };
        if (Limit is int l)
            yield return new PerfEntry { Model = model, ModelHash = hash, MachineName = machine, Unit = Name, BatchSize = l, ExecMs = 0, Status = LimitStatus };
    }

    public UnitCostCurve Curve() =>
        new(Name, Points.Select(p => new MeasuredPoint(p.Size, p.Ms)), Limit, "host", LimitStatus);

    /// <summary>A unit whose every batch costs <paramref name="msPerItem"/> per item, measured at the given sizes.</summary>
    public static TestUnit Linear(string name, double msPerItem, IEnumerable<int> sizes, int? limit = null) =>
        new(name, sizes.Select(s => (s, s * msPerItem)).ToArray(), limit);
}

/// <summary>
/// An independent reference for the cost model, written from its definition and nothing else: a unit runs a
/// sequence of full batches of measured sizes and one last batch of any size c ≥ the items left (c ≤ the
/// largest usable measured size); one run of b items costs the measured time, or the interpolated per-item time
/// times b, in whole nanoseconds. No pruning, no periodicity, no padding lemma: every choice is enumerated.
/// </summary>
internal sealed class BruteUnit
{
    private readonly int[] _sizes;
    private readonly long[] _direct; // [c], 1 ≤ c ≤ max
    private readonly List<long> _exact = new() { 0 }; // min cost of measured full batches summing exactly to σ
    public int Max { get; }
    public bool Usable => _sizes.Length > 0;

    public BruteUnit(TestUnit unit)
    {
        var pts = unit.Points.Where(p => unit.Limit is not int l || p.Size < l).OrderBy(p => p.Size).ToArray();
        _sizes = pts.Select(p => p.Size).ToArray();
        if (pts.Length == 0) { _direct = Array.Empty<long>(); return; }
        Max = pts[^1].Size;
        _direct = new long[Max + 1];
        for (int c = 1; c <= Max; c++)
        {
            int hi = Array.FindIndex(pts, p => p.Size >= c);
            double ms;
            if (pts[hi].Size == c) ms = pts[hi].Ms;
            else if (hi == 0) ms = pts[0].Ms / pts[0].Size * c;
            else
            {
                var (s0, t0) = pts[hi - 1];
                var (s1, t1) = pts[hi];
                double p0 = t0 / s0, p1 = t1 / s1;
                ms = (p0 + (p1 - p0) * (c - s0) / (s1 - s0)) * c;
            }
            _direct[c] = Math.Max(1, (long)Math.Round(ms * 1e6, MidpointRounding.AwayFromZero));
        }
    }

    public long Direct(int c) => _direct[c];

    public bool IsMeasured(int c) => Array.IndexOf(_sizes, c) >= 0;

    private long Exact(int sigma)
    {
        while (_exact.Count <= sigma)
        {
            int m = _exact.Count;
            long best = long.MaxValue;
            foreach (int s in _sizes)
                if (s <= m && _exact[m - s] != long.MaxValue) best = Math.Min(best, _exact[m - s] + _direct[s]);
            _exact.Add(best);
        }
        return _exact[sigma];
    }

    /// <summary>Best cost for n items in ns; long.MaxValue when impossible.</summary>
    public long Cost(int n)
    {
        if (n == 0) return 0;
        if (!Usable) return long.MaxValue;
        long best = long.MaxValue;
        for (int sigma = Math.Max(0, n - Max); sigma < n; sigma++)
        {
            long full = Exact(sigma);
            if (full == long.MaxValue) continue;
            for (int c = n - sigma; c <= Max; c++) best = Math.Min(best, full + _direct[c]);
        }
        return best;
    }
}

internal static class PlanningFixtures
{
    /// <summary>The paper's profiling grid.</summary>
    public static readonly int[] PaperGrid = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129 };

    public static long Ns(double ms) => (long)Math.Round(ms * 1e6, MidpointRounding.AwayFromZero);

    /// <summary>A random small table: non-monotone times, sometimes no batch 1, sometimes a memory limit.</summary>
    public static TestUnit RandomUnit(Random rng, string name, int maxSize)
    {
        var sizes = Enumerable.Range(1, maxSize).Where(_ => rng.NextDouble() < 0.45).ToList();
        if (rng.NextDouble() < 0.7 && !sizes.Contains(1)) sizes.Insert(0, 1);
        if (sizes.Count == 0) sizes.Add(rng.Next(1, maxSize + 1));
        double overhead = 0.2 + rng.NextDouble() * 4;
        double perItem = 0.05 + rng.NextDouble() * 1.5;
        var points = sizes.Select(s => (s, Math.Round((overhead + perItem * s) * (0.55 + rng.NextDouble() * 0.9), 3))).ToArray();
        int? limit = null;
        if (rng.NextDouble() < 0.3) limit = rng.Next(2, maxSize + 2);
        return new TestUnit(name, points, limit, rng.NextDouble() < 0.5 ? PerfStatus.OutOfMemory : PerfStatus.TooSlow);
    }

    /// <summary>Minimum makespan over every split of n items (ns).</summary>
    public static long BruteMakespan(IReadOnlyList<BruteUnit> units, int n)
    {
        long best = long.MaxValue;
        var costs = units.Select(u => Enumerable.Range(0, n + 1).Select(u.Cost).ToArray()).ToArray();
        void Go(int u, int left, long worst)
        {
            if (worst >= best) return;
            if (u == units.Count - 1) { best = Math.Min(best, Math.Max(worst, costs[u][left])); return; }
            for (int k = 0; k <= left; k++) Go(u + 1, left - k, Math.Max(worst, costs[u][k]));
        }
        Go(0, n, 0);
        return best;
    }

    /// <summary>Checks that a plan is well formed and that every share's prediction and batch sizes follow the
    /// cost model exactly (as computed by the brute-force reference).</summary>
    public static void AssertPlanFollowsModel(BatchPlan plan, IReadOnlyList<BruteUnit> units, int firstItem = 0)
    {
        Assert.Equal(units.Count, plan.Shares.Length);
        int offset = firstItem;
        double makespan = 0;
        for (int u = 0; u < units.Count; u++)
        {
            var share = plan.Shares[u];
            Assert.Equal(offset, share.Offset);
            offset += share.Items;
            Assert.True(share.Items >= 0);
            Assert.Equal(units[u].Cost(share.Items), Ns(share.PredictedMs));
            makespan = Math.Max(makespan, share.PredictedMs);
            if (share.Items == 0)
            {
                Assert.Empty(share.ExecutedBatchSizes);
                Assert.False(string.IsNullOrEmpty(share.Reason));
                continue;
            }
            Assert.Null(share.Reason);
            // Every size but the last is full and measured; the last covers the rest (≥ it means padding).
            int left = share.Items;
            long total = 0;
            var sizes = share.ExecutedBatchSizes;
            Assert.NotEmpty(sizes);
            for (int i = 0; i < sizes.Length; i++)
            {
                int c = sizes[i];
                Assert.InRange(c, 1, units[u].Max);
                if (i < sizes.Length - 1) { Assert.True(c < left, $"batch {i} of {share.Unit} ({c}) is not full ({left} left)"); Assert.True(units[u].IsMeasured(c)); }
                else Assert.True(c >= left, $"last batch of {share.Unit} ({c}) leaves items ({left})");
                total += units[u].Direct(c);
                left -= c;
            }
            Assert.Equal(units[u].Cost(share.Items), total);
        }
        Assert.Equal(firstItem + plan.BatchSize, offset);
        Assert.Equal(makespan, plan.PredictedMs);
    }
}
