using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Tests.Planning;
using HeteroBatch.Engine.Units;
using Xunit;

namespace HeteroBatch.Engine.Tests.Distributed;

/// <summary>Two-level planning across machines from one shared table, and the unit ids that name machines.</summary>
public sealed class MachinePlannerTests
{
    private static readonly int[] Grid = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65 };

    // A GPU box (fast, not monotone at 17) and a CPU-only box, as two machines of one table.
    private static readonly TestUnit Gpu = new("gpu0", Grid.Select(b => (b, b == 17 ? 19.0 : 2 + 0.4 * b)).ToArray());
    private static readonly TestUnit Cpu1 = TestUnit.Linear("cpu", 1.9, Grid);
    private static readonly TestUnit Cpu2 = TestUnit.Linear("cpu", 2.6, Grid.Where(b => b < 33), limit: 33);

    private static List<PerfEntry> Table() =>
        Gpu.Rows(machine: "box1").Concat(Cpu1.Rows(machine: "box1")).Concat(Cpu2.Rows(machine: "box2")).ToList();

    private static MachineUnits[] Machines() => new[]
    {
        new MachineUnits { MachineName = "box1", Units = new[] { "gpu0", "cpu" } },
        new MachineUnits { MachineName = "box2", Units = new[] { "cpu" } },
    };

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(100)]
    [InlineData(257)]
    public void Two_level_plan_has_the_makespan_of_a_flat_plan_over_all_units(int n)
    {
        var plan = MachinePlanner.Plan(Table(), "net", "", Machines(), n);
        // The flat plan: every unit of both machines as one list (renamed apart).
        var flat = new CostModel("net", "", new[]
        {
            new UnitCostCurve("box1/gpu0", Gpu.Points.Select(p => new MeasuredPoint(p.Size, p.Ms))),
            new UnitCostCurve("box1/cpu", Cpu1.Points.Select(p => new MeasuredPoint(p.Size, p.Ms))),
            new UnitCostCurve("box2/cpu", Cpu2.Points.Select(p => new MeasuredPoint(p.Size, p.Ms)), 33),
        });
        Assert.Equal(BatchPlanner.Plan(flat, n).PredictedMs, plan.PredictedMs, 9);

        Assert.Equal(n, plan.MachineShares.Sum(m => m.Items));
        int offset = 0;
        foreach (var m in plan.MachineShares)
        {
            Assert.Equal(offset, m.Offset);
            var mine = plan.Shares.Where(s => s.MachineName == m.MachineName).ToList();
            Assert.Equal(m.Items, mine.Sum(s => s.Items));
            Assert.All(mine, s => Assert.StartsWith(m.MachineName + "/", s.Unit));
            // The units' slices tile the machine's slice.
            int at = m.Offset;
            foreach (var s in mine.Where(s => s.Items > 0)) { Assert.Equal(at, s.Offset); at += s.Items; }
            Assert.True(m.PredictedMs >= mine.Max(s => s.PredictedMs) - 1e-9);
            offset += m.Items;
        }
        Assert.True(plan.PredictedMs <= plan.BestSingleUnitMs + 1e-9);
    }

    [Theory]
    [InlineData(PlanAlgorithm.Seed)]
    [InlineData(PlanAlgorithm.GreedyImproved)]
    public void Baselines_plan_across_machines_and_Optimal_is_never_slower(PlanAlgorithm algorithm)
    {
        var models = MachinePlanner.CostModels(Table(), "net", "", Machines());
        var plan = MachinePlanner.Plan(models, 100, algorithm);
        Assert.Equal(algorithm, plan.Algorithm);
        Assert.Equal(100, plan.MachineShares.Sum(m => m.Items));
        Assert.Equal(100, plan.Shares.Sum(s => s.Items));
        // Each machine's slice is split by the same algorithm: its units' items add up to the slice.
        foreach (var m in plan.MachineShares)
            Assert.Equal(m.Items, plan.Shares.Where(s => s.MachineName == m.MachineName).Sum(s => s.Items));
        Assert.True(MachinePlanner.Plan(models, 100).PredictedMs <= plan.PredictedMs);
    }

    [Fact]
    public void A_machine_delay_moves_items_to_the_machine_without_it()
    {
        var plain = MachinePlanner.Plan(Table(), "net", "", Machines(), 64);
        var delayed = MachinePlanner.Plan(Table(), "net", "", new[]
        {
            Machines()[0],
            Machines()[1] with { DelayMs = 30 },
        }, 64);
        int Box2(BatchPlan p) => p.MachineShares.Single(m => m.MachineName == "box2").Items;
        Assert.True(Box2(delayed) < Box2(plain));
        var box2 = delayed.MachineShares.Single(m => m.MachineName == "box2");
        if (box2.Items > 0) Assert.Equal(30, box2.DelayMs, 6);
    }

    [Fact]
    public void Local_plan_is_the_machines_part_with_local_ids_from_item_zero()
    {
        var plan = MachinePlanner.Plan(Table(), "net", "", Machines(), 120);
        var box2 = plan.MachineShares.Single(m => m.MachineName == "box2");
        Assert.True(box2.Items > 0 && box2.Offset > 0);
        var local = MachinePlanner.LocalPlan(plan, "BOX2");
        Assert.Equal(box2.Items, local.BatchSize);
        var share = Assert.Single(local.Shares);
        Assert.Equal("cpu", share.Unit);
        Assert.Equal(0, share.Offset);
        Assert.Equal(box2.Items, share.Items);
        var e = Assert.Throws<HeteroBatchException>(() => MachinePlanner.LocalPlan(plan, "box9"));
        Assert.Equal(UnitErrorIds.UnknownMachine, e.ErrorId);
    }

    [Fact]
    public void Replan_spreads_a_slice_over_the_machines_left_with_their_busy_time()
    {
        var models = MachinePlanner.CostModels(Table(), "net", "", Machines());
        var plan = MachinePlanner.Replan(models, 40, 30, new[] { "box2" });
        var share = Assert.Single(plan.MachineShares);
        Assert.Equal(("box2", 40, 30), (share.MachineName, share.Offset, share.Items));
        Assert.Equal(40, plan.FirstItem);
        var busy = MachinePlanner.Replan(models, 0, 30, new[] { "box1", "box2" }, new Dictionary<string, double> { ["box1"] = 1000 });
        Assert.Equal(30, busy.MachineShares.Single(m => m.MachineName == "box2").Items);
    }

    [Fact]
    public void Plans_survive_the_wire_with_both_levels()
    {
        var plan = MachinePlanner.Plan(Table(), "net", "", Machines(), 77);
        var copy = WireFormat.Deserialize<BatchPlan>(WireFormat.Serialize(plan));
        Assert.Equal(plan.MachineShares, copy.MachineShares, (a, b) => a.MachineName == b.MachineName && a.Items == b.Items && a.Offset == b.Offset && a.Units.SequenceEqual(b.Units));
        Assert.Equal(plan.Shares.Select(s => (s.Unit, s.Items, s.Offset, string.Join(",", s.ExecutedBatchSizes))),
            copy.Shares.Select(s => (s.Unit, s.Items, s.Offset, string.Join(",", s.ExecutedBatchSizes))));
        // A local plan's best-single-unit time is unknown (NaN) and must still cross.
        var local = WireFormat.Deserialize<BatchPlan>(WireFormat.Serialize(MachinePlanner.LocalPlan(plan, "box1")));
        Assert.True(double.IsNaN(local.BestSingleUnitMs));
    }

    [Fact]
    public void Errors_name_the_machine()
    {
        var unknown = Assert.Throws<HeteroBatchException>(() => MachinePlanner.Plan(Table(), "net", "", new[]
        {
            Machines()[0], new MachineUnits { MachineName = "box9", Units = new[] { "cpu" } },
        }, 10));
        Assert.Equal(UnitErrorIds.UnknownMachine, unknown.ErrorId);
        Assert.Contains("box1, box2", unknown.Message);

        var missing = Assert.Throws<MissingProfileException>(() => MachinePlanner.Plan(Table(), "net", "", new[]
        {
            new MachineUnits { MachineName = "box2", Units = new[] { "gpu0" } },
        }, 10));
        Assert.Equal("box2", missing.MachineName);

        var twice = Assert.Throws<HeteroBatchException>(() => MachinePlanner.Plan(Table(), "net", "", new[] { Machines()[1], Machines()[1] }, 10));
        Assert.Equal(PlanningErrorIds.DuplicateMachine, twice.ErrorId);
    }

    [Theory]
    [InlineData("gpu0", null, "gpu0")]
    [InlineData("node1/gpu0", "node1", "gpu0")]
    [InlineData(" node2 / cpu:1 ", "node2", "cpu:1")]
    [InlineData("node1/openvino:GPU.0", "node1", "openvino:GPU.0")]
    public void Unit_ids_may_name_their_machine(string id, string? machine, string unit)
    {
        var a = UnitAddress.Parse(id);
        Assert.Equal(machine, a.MachineName);
        Assert.Equal(unit, a.Unit);
        Assert.Equal(machine is null ? unit : $"{machine}/{unit}", a.ToString());
    }

    [Theory]
    [InlineData("/cpu")]
    [InlineData("node1/")]
    [InlineData("a/b/c")]
    [InlineData(" ")]
    public void Malformed_unit_ids_are_rejected(string id)
    {
        var e = Assert.Throws<HeteroBatchException>(() => UnitAddress.Parse(id));
        Assert.Equal(UnitErrorIds.InvalidUnitId, e.ErrorId);
    }

    [Fact]
    public void This_machine_may_be_named_in_a_unit_id_and_others_are_not_found_here()
    {
        Assert.Equal("cpu", ComputeUnitCatalog.LocalId("localhost/cpu"));
        Assert.Equal("cpu", ComputeUnitCatalog.LocalId(Environment.MachineName + "/cpu"));
        Assert.Equal("cpu", ComputeUnitDiscovery.Find("localhost/cpu").Id);
        var e = Assert.Throws<HeteroBatchException>(() => ComputeUnitDiscovery.Find("elsewhere-42/cpu"));
        Assert.Equal(UnitErrorIds.UnknownMachine, e.ErrorId);
    }
}
