using System.Text.Json;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

public class BatchPlannerTests
{
    private static readonly int[] Grid = PlanningFixtures.PaperGrid;

    // Shaped like ResNet-50 on the paper's desktop: i7-9700K (CPU), UHD 630 (IGPU), GTX 1050 Ti (GPU, 4 GB:
    // out of memory at 129; 2^n+1 sizes are slow).
    private static readonly double[] CpuMs = { 21.8, 38.5, 54.0, 67.2, 82.0, 112.0, 126.4, 141.5, 232.0, 246.0, 262.0, 474.0, 488.0, 503.0, 955.0, 970.0, 986.0, 1925.0, 1940.0, 1956.0 };
    private static readonly double[] IgpuMs = { 46.0, 80.0, 113.0, 141.0, 175.0, 240.0, 268.0, 305.0, 495.0, 520.0, 556.0, 1002.0, 1030.0, 1068.0, 2010.0, 2040.0, 2090.0, 4070.0, 4100.0, 4160.0 };
    private static readonly double[] GpuMs = { 7.5, 9.8, 12.9, 15.6, 19.8, 26.0, 28.4, 36.0, 56.0, 58.5, 71.0, 111.5, 114.0, 139.0, 224.0, 226.0, 270.0, 447.0, 450.0 };

    private static TestUnit[] PaperUnits() => new[]
    {
        new TestUnit("CPU", Grid.Zip(CpuMs).ToArray()),
        new TestUnit("IGPU", Grid.Zip(IgpuMs).ToArray()),
        new TestUnit("GPU", Grid.Take(19).Zip(GpuMs).ToArray(), Limit: 129),
    };

    /// <summary>Rows as Import-Csv of another host's table gives them: Model, Unit, BatchSize, ExecMs; no hash.</summary>
    private static IEnumerable<PerfEntry> ImportedRows(string? machine = null)
    {
        foreach (var unit in PaperUnits())
        {
            foreach (var (size, ms) in unit.Points)
                yield return machine is null
                    ? new PerfEntry { Model = "resnet50", Unit = unit.Name, BatchSize = size, ExecMs = ms }
                    : new PerfEntry { Model = "resnet50", Unit = unit.Name, BatchSize = size, ExecMs = ms, MachineName = machine };
            if (unit.Limit is int l)
                yield return new PerfEntry { Model = "resnet50", Unit = unit.Name, BatchSize = l, ExecMs = 0, Status = PerfStatus.OutOfMemory, MachineName = machine ?? Environment.MachineName };
        }
    }

    [Fact]
    public void PlansAnImportedTable_OfAnotherMachine_WithItsUnitNames()
    {
        var plan = BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "resnet50", BatchSize = 256, Units = new[] { "CPU", "IGPU", "GPU" } });
        var brute = PaperUnits().Select(u => new BruteUnit(u)).ToArray();
        PlanningFixtures.AssertPlanFollowsModel(plan, brute);
        Assert.Equal(PlanningFixtures.BruteMakespan(brute, 256), PlanningFixtures.Ns(plan.PredictedMs));
        Assert.Equal(new[] { "CPU", "IGPU", "GPU" }, plan.Shares.Select(s => s.Unit));
        Assert.All(plan.Shares, s => Assert.True(s.Items > 0, $"{s.Unit} should help"));
        Assert.True(plan.Shares[2].Items > plan.Shares[0].Items && plan.Shares[0].Items > plan.Shares[1].Items);
        Assert.All(plan.Shares[2].ExecutedBatchSizes, s => Assert.True(s <= 128));
        Assert.Equal("GPU", plan.BestSingleUnit);
        Assert.True(plan.PredictedSpeedup > 1.2, $"speedup {plan.PredictedSpeedup}");
        Assert.Equal("", plan.ModelHash);
        Assert.Equal("resnet50", plan.Model);
        foreach (var algorithm in new[] { PlanAlgorithm.Seed, PlanAlgorithm.GreedyImproved, PlanAlgorithm.Proportional, PlanAlgorithm.Even })
        {
            var other = BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "resnet50", BatchSize = 256, Units = new[] { "CPU", "IGPU", "GPU" }, Algorithm = algorithm });
            PlanningFixtures.AssertPlanFollowsModel(other, brute);
            Assert.True(plan.PredictedMs <= other.PredictedMs);
        }
    }

    [Fact]
    public void RowsOfSeveralMachines_AreAmbiguous_UntilTheMachineIsGiven()
    {
        // This host measured its own "cpu"; the imported table names its CPU "CPU" too.
        var local = TestUnit.Linear("cpu", 10, Grid).Rows("resnet50", "THIS-HOST");
        var table = ImportedRows("PAPER-PC").Concat(local).ToArray();
        var request = new PlanRequest { Model = "resnet50", BatchSize = 64, Units = new[] { "CPU", "IGPU", "GPU" } };

        var error = Assert.Throws<HeteroBatchException>(() => BatchPlanner.Plan(table, request));
        Assert.Equal("AmbiguousProfile", error.ErrorId);
        Assert.Contains("PAPER-PC", error.Message);
        Assert.Contains("THIS-HOST", error.Message);

        var plan = BatchPlanner.Plan(table, request with { MachineName = "paper-pc" });
        Assert.All(plan.Shares, s => Assert.Equal("PAPER-PC", s.MachineName));
        Assert.Equal(64, plan.Shares.Sum(s => s.Items));
    }

    [Fact]
    public void RowsOfSeveralOptionSets_AreAmbiguous_UntilTheOptionsAreGiven()
    {
        var two = TestUnit.Linear("cpu", 10, Grid).Rows("net").Select(r => r with { BackendOptions = "threads=2" });
        var four = TestUnit.Linear("cpu", 6, Grid).Rows("net").Select(r => r with { BackendOptions = "threads=4" });
        var table = two.Concat(four).ToArray();
        var request = new PlanRequest { Model = "net", BatchSize = 10, Units = new[] { "cpu" } };
        var error = Assert.Throws<HeteroBatchException>(() => BatchPlanner.Plan(table, request));
        Assert.Equal("AmbiguousProfile", error.ErrorId);
        Assert.Contains("threads=4", error.Message);
        Assert.Equal(60, BatchPlanner.Plan(table, request with { BackendOptions = "threads=4" }).PredictedMs, 9);
        Assert.Equal(100, BatchPlanner.Plan(table, request with { BackendOptions = "threads=2" }).PredictedMs, 9);
    }

    [Fact]
    public void RowsAreSelectedByHash_AndImportedRowsWithoutHashMatchByName()
    {
        var current = TestUnit.Linear("gpu0", 1, Grid).Rows("net", "host", hash: "AAAA");
        var older = TestUnit.Linear("gpu0", 5, Grid).Rows("net", "host", hash: "BBBB");
        var imported = TestUnit.Linear("cpu", 2, Grid).Rows("net", "host", hash: "");
        var table = current.Concat(older).Concat(imported).ToArray();

        var plan = BatchPlanner.Plan(table, new PlanRequest { Model = "net", ModelHash = "aaaa", BatchSize = 30, Units = new[] { "gpu0", "cpu" } });
        Assert.Equal("aaaa", plan.ModelHash);
        Assert.Equal(20, plan.Shares[0].Items); // 1 ms/item vs 2 ms/item

        // Without the hash the two versions of the model are ambiguous.
        var error = Assert.Throws<HeteroBatchException>(() => BatchPlanner.Plan(table, new PlanRequest { Model = "net", BatchSize = 30, Units = new[] { "gpu0" } }));
        Assert.Equal("AmbiguousProfile", error.ErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void ABatchSizeBelowOne_IsInvalidBatchSize(int n)
    {
        var error = Assert.Throws<HeteroBatchException>(() =>
            BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "resnet50", BatchSize = n, Units = new[] { "CPU" } }));
        Assert.Equal("InvalidBatchSize", error.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public void NoUnits_IsNoUnits()
    {
        var error = Assert.Throws<HeteroBatchException>(() =>
            BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "resnet50", BatchSize = 8, Units = Array.Empty<string>() }));
        Assert.Equal("NoUnits", error.ErrorId);
    }

    [Fact]
    public void AnUnknownUnit_IsMissingProfile_NamingItAndTheCommandToProfileIt()
    {
        var error = Assert.Throws<MissingProfileException>(() =>
            BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "resnet50", BatchSize = 8, Units = new[] { "CPU", "npu0", "GPU", "gpu7" } }));
        Assert.Equal("MissingProfile", error.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, error.Kind);
        Assert.Equal(new[] { "npu0", "gpu7" }, error.MissingUnits);
        Assert.Equal("resnet50", error.Model);
        // One command, with -Save, so that pasting it makes the retry work.
        Assert.Contains("Measure-BatchProfile -Model resnet50 -Unit npu0,gpu7 -Save", error.Message);
    }

    [Fact]
    public void AModelAbsentFromTheTable_IsMissingProfile_ForEveryUnit()
    {
        var error = Assert.Throws<MissingProfileException>(() =>
            BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "mobilenet", BatchSize = 8, Units = new[] { "CPU", "GPU" } }));
        Assert.Equal(new[] { "CPU", "GPU" }, error.MissingUnits);
        Assert.Contains("mobilenet", error.Message);
    }

    [Fact]
    public void UnitsThatCannotRunTheModel_AreListedWithTheirReason_OrFailThePlanWhenAllAre()
    {
        var oom = new TestUnit("gpu0", new[] { (2, 1.0) }, Limit: 1).Rows().ToArray();
        var cpu = TestUnit.Linear("cpu", 2, Grid).Rows().ToArray();
        var plan = BatchPlanner.Plan(oom.Concat(cpu), new PlanRequest { Model = "net", BatchSize = 10, Units = new[] { "gpu0", "cpu" } });
        Assert.Equal(0, plan.Shares[0].Items);
        Assert.Contains("OutOfMemory at batch size 1", plan.Shares[0].Reason);
        Assert.Equal(10, plan.Shares[1].Items);

        var error = Assert.Throws<HeteroBatchException>(() => BatchPlanner.Plan(oom, new PlanRequest { Model = "net", BatchSize = 10, Units = new[] { "gpu0" } }));
        Assert.Equal("NoUsableUnit", error.ErrorId);
    }

    [Fact]
    public void AnUnusableRow_IsInvalidProfile()
    {
        var rows = TestUnit.Linear("cpu", 2, new[] { 1, 2, 4 }).Rows().Append(new PerfEntry { Model = "net", MachineName = "host", Unit = "cpu", BatchSize = 8, ExecMs = double.NaN });
        var error = Assert.Throws<HeteroBatchException>(() => BatchPlanner.Plan(rows, new PlanRequest { Model = "net", BatchSize = 10, Units = new[] { "cpu" } }));
        Assert.Equal("InvalidProfile", error.ErrorId);
    }

    [Fact]
    public void APlan_RoundTripsThroughSystemTextJson()
    {
        var plan = BatchPlanner.Plan(ImportedRows(), new PlanRequest { Model = "resnet50", BatchSize = 300, Units = new[] { "CPU", "IGPU", "GPU" } });
        string json = JsonSerializer.Serialize(plan);
        var back = JsonSerializer.Deserialize<BatchPlan>(json)!;
        Assert.Equal(json, JsonSerializer.Serialize(back));
        Assert.Equal(plan.PredictedMs, back.PredictedMs);
        Assert.Equal(plan.PredictedSpeedup, back.PredictedSpeedup);
        Assert.Equal(plan.Shares.Select(s => (s.Unit, s.Items, s.Offset, s.PredictedMs, s.Reason)), back.Shares.Select(s => (s.Unit, s.Items, s.Offset, s.PredictedMs, s.Reason)));
        Assert.Equal(plan.Shares.SelectMany(s => s.ExecutedBatchSizes), back.Shares.SelectMany(s => s.ExecutedBatchSizes));
    }

    [Fact]
    public void Replan_SpreadsAFailedUnitsItems_OverTheOthers_InTheSameRange()
    {
        var units = PaperUnits();
        var model = CostModel.FromTable(units.SelectMany(u => u.Rows()), "net", null, new[] { "CPU", "IGPU", "GPU" });
        var plan = BatchPlanner.Plan(model, 200);
        var failed = plan.Shares[2]; // the GPU fails before running anything
        var again = BatchPlanner.Replan(model, failed.Offset, failed.Items, new[] { "CPU", "IGPU" });

        Assert.Equal(failed.Offset, again.FirstItem);
        Assert.Equal(failed.Items, again.BatchSize);
        Assert.Equal(new[] { "CPU", "IGPU" }, again.Shares.Select(s => s.Unit));
        PlanningFixtures.AssertPlanFollowsModel(again, units.Take(2).Select(u => new BruteUnit(u)).ToArray(), failed.Offset);
        Assert.Equal(PlanningFixtures.BruteMakespan(units.Take(2).Select(u => new BruteUnit(u)).ToArray(), failed.Items), PlanningFixtures.Ns(again.PredictedMs));

        // A unit still busy with its own work gets fewer of the re-planned items.
        var busy = BatchPlanner.Replan(model, failed.Offset, failed.Items, new[] { "CPU", "IGPU" }, new Dictionary<string, double> { ["cpu"] = 500 });
        Assert.True(busy.Shares[0].Items < again.Shares[0].Items);
        Assert.Equal(500 + model.Find("CPU")!.Cost(busy.Shares[0].Items), busy.Shares[0].PredictedMs, 9);
        Assert.Equal(failed.Items, busy.Shares.Sum(s => s.Items));

        var error = Assert.Throws<MissingProfileException>(() => BatchPlanner.Replan(model, 0, 10, new[] { "npu" }));
        Assert.Equal(new[] { "npu" }, error.MissingUnits);
        Assert.Equal("InvalidBatchSize", Assert.Throws<HeteroBatchException>(() => BatchPlanner.Replan(model, 0, 0, new[] { "CPU" })).ErrorId);
        Assert.Equal("NoUnits", Assert.Throws<HeteroBatchException>(() => BatchPlanner.Replan(model, 0, 5, Array.Empty<string>())).ErrorId);
    }
}
