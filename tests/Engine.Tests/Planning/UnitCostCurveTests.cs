using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

public class UnitCostCurveTests
{
    [Fact]
    public void DirectTime_UsesMeasuredValues_InterpolatesPerItem_AndScalesBelowTheSmallestSize()
    {
        // 2 items: 4 ms (2 ms/item); 6 items: 6 ms (1 ms/item).
        var curve = new UnitCostCurve("u", new[] { new MeasuredPoint(2, 4), new MeasuredPoint(6, 6) });
        Assert.Equal(4, curve.DirectMs(2));
        Assert.Equal(6, curve.DirectMs(6));
        Assert.Equal(4 * 1.5, curve.DirectMs(4), 9);       // per item halfway between 2 and 1
        Assert.Equal(3 * 1.75, curve.DirectMs(3), 9);
        Assert.Equal(2, curve.DirectMs(1));                  // below the smallest: its per-item time
        Assert.Equal(double.PositiveInfinity, curve.DirectMs(7)); // above the largest: never one run
        Assert.Equal(6, curve.MaxBatchSize);
        Assert.Equal(6, curve.BestBatchSize);
        Assert.Equal(1, curve.MinMsPerItem, 9);
    }

    [Fact]
    public void Padding_IsUsed_OnlyWhenALargerMeasuredSizeIsStrictlyFaster()
    {
        // GPU-like: 17 is slow, 32 is fast. 16 + 1 costs 2 + 1.5 = 3.5 > 3.
        var faster = new UnitCostCurve("gpu", Points((1, 1.5), (16, 2), (17, 4), (32, 3)));
        Assert.Equal(3, faster.Cost(17));
        Assert.Equal(new[] { 32 }, faster.ExecutedBatchSizes(17));

        // Same, but 32 takes as long as 17: no padding.
        var equal = new UnitCostCurve("gpu", Points((1, 2.5), (16, 2), (17, 4), (32, 4)));
        Assert.Equal(4, equal.Cost(17));
        Assert.Equal(new[] { 17 }, equal.ExecutedBatchSizes(17));

        // 32 slower than 17: no padding either.
        var slower = new UnitCostCurve("gpu", Points((1, 2.5), (16, 2), (17, 4), (32, 4.5)));
        Assert.Equal(new[] { 17 }, slower.ExecutedBatchSizes(17));
        Assert.Equal(4, slower.Cost(17));
    }

    [Fact]
    public void Chunking_IsUsed_OnlyWhenItIsStrictlyCheaperThanOneRun()
    {
        // Per-item time is best at 32; a batch of 64 is slow (20 + 20 < 30).
        var chunky = new UnitCostCurve("gpu", Points((1, 1), (32, 10), (64, 30)));
        Assert.Equal(20, chunky.Cost(64));
        Assert.Equal(new[] { 32, 32 }, chunky.ExecutedBatchSizes(64));

        // 64 is as fast as two 32s: one run.
        var tie = new UnitCostCurve("gpu", Points((1, 1), (32, 10), (64, 20)));
        Assert.Equal(new[] { 64 }, tie.ExecutedBatchSizes(64));

        // 64 faster than two 32s: one run.
        var single = new UnitCostCurve("gpu", Points((1, 1), (32, 10), (64, 15)));
        Assert.Equal(15, single.Cost(64));
        Assert.Equal(new[] { 64 }, single.ExecutedBatchSizes(64));
    }

    [Theory]
    [InlineData(PerfStatus.OutOfMemory)]
    [InlineData(PerfStatus.TooSlow)]
    public void ALimitRow_ForbidsItsSizeAndLarger_SoLargeSharesRunInChunks(string status)
    {
        var unit = new TestUnit("gpu", new[] { (1, 1.0), (8, 4.0), (16, 6.0), (32, 8.0) }, Limit: 32, LimitStatus: status);
        var curve = unit.Curve();
        Assert.Equal(16, curve.MaxBatchSize);
        Assert.Equal(32, curve.LimitBatchSize);
        Assert.Equal(double.PositiveInfinity, curve.DirectMs(32));
        var sizes = curve.ExecutedBatchSizes(40);
        Assert.All(sizes, s => Assert.True(s <= 16));
        Assert.Equal(new[] { 16, 16, 8 }, sizes);
        Assert.Equal(16, curve.Cost(40));
        Assert.Equal(new BruteUnit(unit).Cost(40), PlanningFixtures.Ns(curve.Cost(40)));
    }

    [Fact]
    public void AUnitOutOfMemoryAtBatchOne_CannotRunAnything()
    {
        var curve = new TestUnit("gpu", new[] { (4, 1.0) }, Limit: 1).Curve();
        Assert.False(curve.IsUsable);
        Assert.Contains("OutOfMemory at batch size 1", curve.UnusableReason);
        Assert.Equal(0, curve.Cost(0));
        Assert.Equal(double.PositiveInfinity, curve.Cost(1));
        Assert.Equal(0, curve.Capacity(1e9, 100));
    }

    [Fact]
    public void BestCost_EqualsBruteForce_ForEveryCountUpTo40_OnRandomSmallTables()
    {
        var rng = new Random(20240601);
        for (int t = 0; t < 300; t++)
        {
            var unit = PlanningFixtures.RandomUnit(rng, "u", 16);
            var curve = unit.Curve();
            var brute = new BruteUnit(unit);
            for (int n = 0; n <= 40; n++)
            {
                Assert.Equal(brute.Cost(n), curve.CostNs(n));
                if (n > 0 && curve.IsUsable) CheckSizes(curve, brute, n);
            }
        }
    }

    [Fact]
    public void BestCost_EqualsBruteForce_FarIntoThePeriodicPart_OnPaperGridTables()
    {
        var rng = new Random(7);
        for (int t = 0; t < 12; t++)
        {
            // GPU-like: fixed cost, cheap items, 2^n+1 sizes slow, sometimes a memory limit.
            double overhead = 1 + rng.NextDouble() * 4, perItem = 0.02 + rng.NextDouble() * 0.1;
            var points = PlanningFixtures.PaperGrid.Select(s =>
                (s, Math.Round((overhead + perItem * s) * (s % 2 == 1 && s > 4 ? 1.3 + rng.NextDouble() * 0.5 : 0.9 + rng.NextDouble() * 0.2), 4))).ToArray();
            var unit = new TestUnit("gpu", points, t % 3 == 0 ? 65 : null);
            var curve = unit.Curve();
            var brute = new BruteUnit(unit);
            // Query a large n first, so the curve has to find its period before answering.
            Assert.Equal(brute.Cost(3000), curve.CostNs(3000));
            var (computed, periodStart) = curve.TableExtent;
            Assert.True(periodStart > 0, "the curve should have become periodic");
            Assert.True(computed < 3000, $"the table should stop at its period, not at n ({computed})");
            for (int n = 1; n <= 1500; n += 7)
            {
                Assert.Equal(brute.Cost(n), curve.CostNs(n));
                CheckSizes(curve, brute, n);
            }
        }
    }

    [Fact]
    public void BestCost_EqualsBruteForce_WhenThePeriodStartsLate()
    {
        // Near-equal per-item times at every size make many chunk mixes compete, so the table turns periodic
        // only after hundreds to thousands of entries; sampled counts far beyond must still match the reference.
        var rng = new Random(5);
        for (int t = 0; t < 3; t++)
        {
            var points = PlanningFixtures.PaperGrid.Select(s => (s, Math.Round((3 + s) * (0.98 + 0.04 * rng.NextDouble()), 4))).ToArray();
            var unit = new TestUnit("cpu", points);
            var curve = unit.Curve();
            var brute = new BruteUnit(unit);
            curve.Cost(20_000);
            Assert.True(curve.TableExtent.PeriodStart > 0);
            for (int k = 0; k < 60; k++)
            {
                int n = rng.Next(1, 20_000);
                Assert.Equal(brute.Cost(n), curve.CostNs(n));
            }
        }
    }

    [Fact]
    public void Cost_IsNonDecreasing_AndCapacityAgreesWithCost()
    {
        var rng = new Random(11);
        for (int t = 0; t < 40; t++)
        {
            var curve = PlanningFixtures.RandomUnit(rng, "u", 40).Curve();
            if (!curve.IsUsable) continue;
            for (int n = 1; n < 600; n++) Assert.True(curve.Cost(n) >= curve.Cost(n - 1));
            foreach (int n in new[] { 1, 2, 17, 100, 599 })
            {
                double budget = curve.Cost(n);
                int cap = curve.Capacity(budget, 5000);
                Assert.True(cap >= n);
                Assert.True(curve.Cost(cap) <= budget);
                Assert.True(curve.Cost(cap + 1) > budget);
                Assert.Equal(cap, CostCurves.CapacityBySearch(curve, budget, 5000));
                double below = Math.BitDecrement(budget);
                Assert.Equal(CostCurves.CapacityBySearch(curve, below, 5000), curve.Capacity(below, 5000));
                Assert.True(curve.Capacity(below, 5000) < n);
            }
        }
    }

    private static void CheckSizes(UnitCostCurve curve, BruteUnit brute, int n)
    {
        var sizes = curve.ExecutedBatchSizes(n);
        int left = n;
        long total = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            if (i < sizes.Length - 1) Assert.True(sizes[i] < left && brute.IsMeasured(sizes[i]));
            else Assert.True(sizes[i] >= left && sizes[i] <= brute.Max);
            total += brute.Direct(sizes[i]);
            left -= sizes[i];
        }
        Assert.Equal(brute.Cost(n), total);
    }

    private static MeasuredPoint[] Points(params (int Size, double Ms)[] points) =>
        points.Select(p => new MeasuredPoint(p.Size, p.Ms)).ToArray();
}
