using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Units;
using Xunit;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Execution;

public sealed class PlanAndOutputTests
{
    private static readonly HeteroBatch.Engine.Models.ModelInfo Model = BatchInputTests.ShapeOnlyModel(new[] { 3, 32, 32 }, new[] { 10 });

    internal static ComputeUnit Cpu(string id = "cpu") => new()
    {
        Id = id, Kind = ComputeUnitKind.Cpu, Backend = BackendNames.OrtCpu, Name = "test cpu", LogicalCores = 2,
    };

    internal static BatchPlan Plan(int n, params UnitShare[] shares) => new()
    {
        Model = "m", BatchSize = n, Algorithm = PlanAlgorithm.Even, PredictedMs = 1, BestSingleUnit = shares[0].Unit,
        BestSingleUnitMs = 1, Shares = shares,
    };

    internal static UnitShare Share(string unit, int offset, int items, params int[] chunks) =>
        new() { Unit = unit, Offset = offset, Items = items, ExecutedBatchSizes = chunks };

    [Fact]
    public void A_plan_that_tiles_the_batch_passes()
    {
        var units = new[] { Cpu("cpu:0"), Cpu("cpu:1") };
        PlanValidation.Check(Plan(10, Share("cpu:0", 0, 3, 4), Share("cpu:1", 3, 7, 4, 4)), 10, units, Model);
        PlanValidation.Check(Plan(10, Share("cpu:1", 0, 10), Share("cpu:0", 10, 0)), 10, units, Model);
        // Unit ids match as Get-ComputeUnit matches them: case-insensitively.
        PlanValidation.Check(Plan(10, Share("CPU:0", 0, 10)), 10, units, Model);
    }

    public static TheoryData<BatchPlan, int, string> BadPlans => new()
    {
        { Plan(10, Share("cpu:0", 0, 5), Share("cpu:1", 5, 4)), 10, "Items 9-9 are in no unit's share" },
        { Plan(10, Share("cpu:0", 0, 6), Share("cpu:1", 5, 5)), 10, "in two shares" },
        { Plan(10, Share("cpu:0", 0, 5), Share("cpu:1", 6, 4)), 10, "Items 5-5 are in no unit's share" },
        { Plan(10, Share("cpu:0", 0, 10)), 12, "batch of 10 items but the input has 12" },
        { Plan(10, Share("gpu0", 0, 10)), 10, "not among the units" },
        { Plan(10, Share("cpu:0", 0, 5, 2, 2)), 10, "cover fewer" },
        { Plan(10, Share("cpu:0", 0, 10, 8, 2, 1)), 10, "more batches" },
        { Plan(10, Share("cpu:0", 0, 10, 0, 10)), 10, "must be positive" },
        { Plan(10, Share("cpu:0", 0, 5), Share("cpu:0", 5, 5)), 10, "two shares" },
    };

    [Theory]
    [MemberData(nameof(BadPlans))]
    public void Plans_that_do_not_fit_are_InvalidPlan(BatchPlan plan, int n, string why)
    {
        var e = Assert.Throws<HeteroBatchException>(() => PlanValidation.Check(plan, n, new[] { Cpu("cpu:0"), Cpu("cpu:1") }, Model));
        Assert.Equal(ExecutionErrorIds.InvalidPlan, e.ErrorId);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Unavailable_units_are_refused()
    {
        var off = Cpu("cpu:0") with { Available = false, Reason = "switched off for the test" };
        var e = Assert.Throws<HeteroBatchException>(() => PlanValidation.Check(Plan(2, Share("cpu:0", 0, 2)), 2, new[] { off }, Model));
        Assert.Equal(ExecutionErrorIds.UnitNotAvailable, e.ErrorId);
        Assert.Contains("switched off", e.Message);
    }

    [Fact]
    public void Water_fill_balances_finish_times_and_tiles_the_range()
    {
        var request = new ReplanRequest
        {
            Offset = 100, Items = 30, Plan = Plan(1, Share("a", 0, 1)), Model = Model, FailedUnit = "c",
            Units = new[]
            {
                new ReplanUnit { Unit = "a", MsPerItem = 1, BusyMs = 0, MaxChunk = 8 },
                new ReplanUnit { Unit = "b", MsPerItem = 2, BusyMs = 10 },
            },
        };
        var shares = ReplanStrategies.WaterFill(request);
        Assert.Equal(30, shares.Sum(s => s.Items));
        Assert.Equal(100, shares[0].Offset);
        Assert.Equal(shares[0].Offset + shares[0].Items, shares[1].Offset);
        // Finish together: a = x ms, b = 10 + 2(30-x) ms -> x = 23.3, so a takes 23 and b 7.
        Assert.Equal(23, shares.Single(s => s.Unit == "a").Items);
        Assert.All(shares.Single(s => s.Unit == "a").ExecutedBatchSizes, c => Assert.True(c <= 8));
        Assert.Equal(23, shares.Single(s => s.Unit == "a").ExecutedBatchSizes.Sum());
    }

    [Fact]
    public void Thread_budget_leaves_a_core_per_gpu_and_splits_the_cpu()
    {
        var gpu = new ComputeUnit { Id = "gpu0", Kind = ComputeUnitKind.Gpu, Backend = BackendNames.OrtCuda, Name = "test gpu" };
        Assert.Equal(14, ThreadBudget.CpuThreads(new[] { Cpu(), gpu, gpu with { Id = "gpu1" } }, logicalCores: 16));
        Assert.Equal(1, ThreadBudget.CpuThreads(new[] { Cpu(), gpu, gpu with { Id = "gpu1" } }, logicalCores: 2));
        var options = ThreadBudget.OptionsFor(new[] { Cpu(), gpu }, logicalCores: 16);
        Assert.Equal(15, options["cpu"].IntraOpThreads);
        Assert.Equal("threads=15", options["cpu"].Key);
        Assert.Equal(BackendOptions.Default, options["gpu0"]);

        var slices = ThreadBudget.SplitCpu(Cpu() with { LogicalCores = 8 }, 2);
        Assert.Equal(new[] { "cpu:0", "cpu:1" }, slices.Select(s => s.Id));
        var sliced = ThreadBudget.OptionsFor(slices, logicalCores: 8);
        Assert.Equal(4, sliced["cpu:0"].IntraOpThreads);
        // With two GPUs fed, the slices share the 6 threads left, not 8.
        var withGpus = ThreadBudget.OptionsFor(slices.Append(gpu).Append(gpu with { Id = "gpu1" }).ToList(), logicalCores: 8);
        Assert.Equal(3, withGpus["cpu:1"].IntraOpThreads);
        Assert.True(ThreadBudget.TryParseSlice("cpu:1", out var baseId, out var n) && baseId == "cpu" && n == 1);
        Assert.False(ThreadBudget.TryParseSlice("openvino:GPU.0", out _, out _));
    }

    [Fact]
    public void TopK_uses_softmax_and_keeps_probabilities()
    {
        var logits = new float[] { 0, 2, 1, /* item 2: already probabilities */ 0.1f, 0.2f, 0.7f };
        var output = new BatchOutput(logits, 2, new[] { 3 }, new[] { "x.png", "y.png" });
        var top = output.TopK(2);
        Assert.Equal(4, top.Count);
        Assert.Equal((0, 1, 1), (top[0].Item, top[0].Rank, top[0].ClassIndex));
        double e0 = Math.Exp(-2), e1 = 1, e2 = Math.Exp(-1);
        Assert.Equal(e1 / (e0 + e1 + e2), top[0].Score, 5);
        Assert.Equal(2, top[1].ClassIndex);
        Assert.Equal("y.png", top[2].Source);
        Assert.Equal(2, top[2].ClassIndex);
        Assert.Equal(0.7f, top[2].Score, 6);

        var tensor = output.ToTensor();
        Assert.Equal(new[] { 2, 3 }, tensor.Dimensions.ToArray());
        Assert.Equal(0.7f, tensor[1, 2]);
        Assert.Equal(logits, output.ToArray());

        var features = new BatchOutput(new float[8], 2, new[] { 2, 2 }, null);
        Assert.Equal(ExecutionErrorIds.NotAClassifier, Assert.Throws<HeteroBatchException>(() => features.TopK()).ErrorId);
    }
}
