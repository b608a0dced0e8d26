using HeteroBatch.Engine.Planning;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

public class OptimalPlanTests
{
    private static readonly PlanAlgorithm[] Baselines = { PlanAlgorithm.Seed, PlanAlgorithm.GreedyImproved, PlanAlgorithm.Proportional, PlanAlgorithm.Even };

    [Fact]
    public void Optimal_EqualsBruteForce_OnHundredsOfRandomSmallTables()
    {
        var rng = new Random(424242);
        int paddedOrChunked = 0;
        for (int t = 0; t < 400; t++)
        {
            int unitCount = rng.Next(2, 5);
            var units = Enumerable.Range(0, unitCount).Select(i => PlanningFixtures.RandomUnit(rng, "u" + i, 12)).ToArray();
            if (units.All(u => !new BruteUnit(u).Usable)) continue;
            int n = rng.Next(1, unitCount == 4 ? 31 : 41);
            var model = new CostModel("net", "", units.Select(u => u.Curve()));
            var brute = units.Select(u => new BruteUnit(u)).ToArray();

            var plan = BatchPlanner.Plan(model, n);
            Assert.Equal(PlanningFixtures.BruteMakespan(brute, n), PlanningFixtures.Ns(plan.PredictedMs));
            PlanningFixtures.AssertPlanFollowsModel(plan, brute);
            paddedOrChunked += plan.Shares.Count(s => s.ExecutedBatchSizes.Length > 1 || s.ExecutedBatchSizes.Sum() > s.Items) > 0 ? 1 : 0;

            foreach (var algorithm in Baselines)
            {
                var other = BatchPlanner.Plan(model, n, algorithm);
                PlanningFixtures.AssertPlanFollowsModel(other, brute);
                Assert.True(plan.PredictedMs <= other.PredictedMs, $"case {t}: optimal {plan.PredictedMs} > {algorithm} {other.PredictedMs}");
            }
        }
        Assert.True(paddedOrChunked > 100, $"padding or chunking should be in play in many cases ({paddedOrChunked})");
    }

    [Fact]
    public void LinearUnits_GetTheAnalyticSplit()
    {
        // A: 1 ms/item, B: 3 ms/item → A gets 3/4 of the batch.
        var a = TestUnit.Linear("A", 1, PlanningFixtures.PaperGrid);
        var b = TestUnit.Linear("B", 3, PlanningFixtures.PaperGrid);
        var plan = BatchPlanner.Plan(a.Rows().Concat(b.Rows()), new PlanRequest { Model = "net", BatchSize = 100, Units = new[] { "A", "B" } });
        Assert.InRange(plan.Shares[0].Items, 74, 76);
        Assert.Equal(100 - plan.Shares[0].Items, plan.Shares[1].Items);
        Assert.Equal(75, plan.PredictedMs, 9);
        Assert.Equal("A", plan.BestSingleUnit);
        Assert.Equal(100, plan.BestSingleUnitMs, 9);
        Assert.Equal(100.0 / 75, plan.PredictedSpeedup, 9);
        Assert.Equal(0, plan.Shares[0].Offset);
        Assert.Equal(plan.Shares[0].Items, plan.Shares[1].Offset);
        foreach (var algorithm in Baselines)
            Assert.True(plan.PredictedMs <= BatchPlanner.Plan(a.Rows().Concat(b.Rows()), new PlanRequest { Model = "net", BatchSize = 100, Units = new[] { "A", "B" }, Algorithm = algorithm }).PredictedMs);
    }

    [Fact]
    public void LargeLinearBatch_SplitsInTheRatioOfSpeeds_AcrossChunks()
    {
        // Beyond the largest measured size both units run chunks; the split stays 3:1 within a chunk.
        var a = TestUnit.Linear("A", 1, PlanningFixtures.PaperGrid);
        var b = TestUnit.Linear("B", 3, PlanningFixtures.PaperGrid);
        var model = new CostModel("net", "", new[] { a.Curve(), b.Curve() });
        var plan = BatchPlanner.Plan(model, 100_000);
        Assert.Equal(75_000, plan.PredictedMs, 6);
        Assert.Equal(75_000, plan.Shares[0].Items);
        Assert.All(plan.Shares[0].ExecutedBatchSizes, s => Assert.True(s <= 129));
        Assert.Equal(75_000, plan.Shares[0].ExecutedBatchSizes.Sum());
    }

    [Fact]
    public void AUnitThatDoesNotHelp_GetsNoItems_WithTheReason()
    {
        // The GPU runs 128 items as fast as 1; 200 items take two batches whatever the CPU does, unless the
        // CPU took 72 items, which would take it far longer. Fewest units: the CPU is left out.
        var gpu = new TestUnit("gpu", new[] { (1, 9.9), (128, 10.0) }, Limit: 129);
        var cpu = TestUnit.Linear("cpu", 5, new[] { 1, 2, 4, 8, 16, 32, 64, 128 });
        var slowCpu = TestUnit.Linear("cpu", 25, new[] { 1, 2, 4, 8 });

        var plan = BatchPlanner.Plan(new CostModel("net", "", new[] { cpu.Curve(), gpu.Curve() }), 200);
        Assert.Equal(20, plan.PredictedMs, 9);
        Assert.Equal(0, plan.Shares[0].Items);
        Assert.StartsWith("not needed", plan.Shares[0].Reason);
        Assert.Equal(200, plan.Shares[1].Items);
        Assert.Equal(new[] { 128, 128 }, plan.Shares[1].ExecutedBatchSizes);

        var slow = BatchPlanner.Plan(new CostModel("net", "", new[] { slowCpu.Curve(), gpu.Curve() }), 200);
        Assert.Equal(0, slow.Shares[0].Items);
        Assert.StartsWith("slower than the makespan", slow.Shares[0].Reason);
    }

    [Fact]
    public void TieBreaks_AreDeterministic_AndRelieveTheOtherUnits()
    {
        // Three identical units, 7 items: the makespan is 3 items' worth. One unit must take 3 (the first, by
        // unit order); the other two then share the 4 left evenly rather than 3 + 1.
        var units = Enumerable.Range(0, 3).Select(i => TestUnit.Linear("u" + i, 1, new[] { 1, 2, 4, 8 }).Curve()).ToArray();
        var plan = BatchPlanner.Plan(new CostModel("net", "", units), 7);
        Assert.Equal(new[] { 3, 2, 2 }, plan.Shares.Select(s => s.Items));
        Assert.Equal(3, plan.PredictedMs, 9);
        var again = BatchPlanner.Plan(new CostModel("net", "", units), 7);
        Assert.Equal(plan.Shares.Select(s => s.Items), again.Shares.Select(s => s.Items));
    }

    [Fact]
    public void AmongOptimalSplits_FewestUnitsWin()
    {
        // X 1 ms/item; Y 6 ms for any batch up to 4 (out of memory at 5); Z 1.5 ms/item; 10 items.
        // The makespan is 6 ms (at 5 ms only X and Z run: 5 + 3 items). At 6 ms X fits 6, Y 4, Z 4:
        // X and Y suffice, so Z is left out rather than spreading the batch over three units.
        var x = TestUnit.Linear("X", 1, new[] { 1, 2, 4, 8, 16 }).Curve();
        var y = new TestUnit("Y", new[] { (1, 6.0), (4, 6.0) }, Limit: 5).Curve();
        var z = TestUnit.Linear("Z", 1.5, new[] { 1, 2, 4, 8, 16 }).Curve();
        var plan = BatchPlanner.Plan(new CostModel("net", "", new[] { x, y, z }), 10);
        Assert.Equal(6, plan.PredictedMs, 9);
        Assert.Equal(new[] { 6, 4, 0 }, plan.Shares.Select(s => s.Items));
        Assert.StartsWith("not needed", plan.Shares[2].Reason);
    }

    [Fact]
    public void MachineAggregates_PlanAcrossMachines_WithTheFlatMakespan()
    {
        var rng = new Random(99);
        for (int t = 0; t < 60; t++)
        {
            var units = Enumerable.Range(0, 4).Select(i => PlanningFixtures.RandomUnit(rng, "u" + i, 16).Curve()).ToArray();
            if (units.Take(2).All(u => !u.IsUsable) || units.Skip(2).All(u => !u.IsUsable)) continue;
            int n = rng.Next(1, 400);
            var machines = new ICostCurve[]
            {
                new AggregateCostCurve("m1", units.Take(2)),
                new AggregateCostCurve("m2", units.Skip(2)),
            };
            var flat = SplitSolver.Split(units, n);
            var top = SplitSolver.Split(machines, n);
            Assert.Equal(flat.MakespanMs, top.MakespanMs);
            Assert.Equal(n, top.Items.Sum());
            for (int m = 0; m < 2; m++)
            {
                var local = ((AggregateCostCurve)machines[m]).Split(top.Items[m]);
                Assert.Equal(top.Items[m], local.Items.Sum());
                Assert.True(local.MakespanMs <= top.MakespanMs);
                Assert.Equal(machines[m].Cost(top.Items[m]), local.MakespanMs);
                // Capacity agrees with Cost on the aggregate too.
                int cap = machines[m].Capacity(top.MakespanMs, n);
                Assert.True(machines[m].Cost(cap) <= top.MakespanMs);
                if (cap < n) Assert.True(machines[m].Cost(cap + 1) > top.MakespanMs);
            }
        }
    }

    [Fact]
    public void ADelayedMachine_GetsFewerItems()
    {
        var a = TestUnit.Linear("a", 1, new[] { 1, 8, 64 }).Curve();
        var b = TestUnit.Linear("b", 1, new[] { 1, 8, 64 }).Curve();
        var split = SplitSolver.Split(new[] { a, CostCurves.Delayed(b, 20) }, 100);
        Assert.Equal(new[] { 60, 40 }, split.Items);
        Assert.Equal(60, split.MakespanMs, 9);
    }
}
