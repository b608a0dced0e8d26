using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>
/// The cold-unit rule on tables alone: a plan costs the largest setup of its cold units (they warm at once) plus its
/// run; a cold unit is left out only when the best plan without it costs less.
/// </summary>
public sealed class ColdUnitRuleTests
{
    private static readonly int[] Sizes = { 1, 2, 4, 8, 16, 32 };

    // Two equal units: the batch of 32 takes 32 ms on one, 16 ms split over both.
    private static readonly PerfEntry[] Rows = TestUnit.Linear("a", 1.0, Sizes).Rows().Concat(TestUnit.Linear("b", 1.0, Sizes).Rows())
        .Concat(TestUnit.Linear("c", 1.0, Sizes).Rows()).ToArray();

    private static BatchPlan PlanOver(IReadOnlyList<string> units, int batch = 32) =>
        BatchPlanner.Plan(Rows, new PlanRequest { Model = "net", BatchSize = batch, Units = units });

    private static ColdUnitOutcome Apply(IReadOnlyDictionary<string, double?> setups, int batch = 32, params string[] units) =>
        ColdUnitRule.Apply(units.Length > 0 ? units : new[] { "a", "b" }, u => PlanOver(u, batch), share => setups.GetValueOrDefault(share.Unit, 0));

    [Fact]
    public void A_cold_unit_whose_setup_costs_more_than_it_saves_is_left_out()
    {
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 0, ["b"] = 500 });

        var left = Assert.Single(outcome.LeftOut);
        Assert.Equal("b", left.Unit);
        Assert.Equal(500, left.SetupMs);
        Assert.Equal(16, left.SavedMs, 6);         // 32 ms alone against 16 ms split
        Assert.Equal(new[] { 32 }, outcome.Plan.Shares.Single(s => s.Unit == "a").ExecutedBatchSizes);
        var share = outcome.Plan.Shares.Single(s => s.Unit == "b");
        Assert.Equal(0, share.Items);
        Assert.Contains("cold", share.Reason);
        Assert.Equal(32, outcome.ChosenMs, 6);
        Assert.Equal(516, outcome.WithAllMs, 6);
    }

    [Fact]
    public void A_cold_unit_that_saves_more_than_its_setup_is_kept()
    {
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 0, ["b"] = 10 });

        Assert.Empty(outcome.LeftOut);
        Assert.All(outcome.Plan.Shares, s => Assert.Equal(16, s.Items));
        Assert.Equal(("b", 10.0), Assert.Single(outcome.ColdKept));
        Assert.Equal(26, outcome.ChosenMs, 6);
    }

    [Fact]
    public void A_warm_unit_is_kept_whatever_its_profile_says()
    {
        // Setup 0: the unit is warm for the sizes its share runs.
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 0, ["b"] = 0 });
        Assert.Empty(outcome.LeftOut);
        Assert.Empty(outcome.ColdKept);
        Assert.Equal(2, outcome.Plan.Shares.Count(s => s.Items > 0));
    }

    [Fact]
    public void An_unknown_setup_keeps_every_unit_and_says_which()
    {
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 500, ["b"] = null });
        Assert.Empty(outcome.LeftOut);
        Assert.Equal(new[] { "b" }, outcome.UnknownSetup);
        Assert.Equal(2, outcome.Plan.Shares.Count(s => s.Items > 0));
    }

    [Fact]
    public void Units_warm_at_once_so_the_setup_is_the_largest_not_the_sum()
    {
        // Three equal units, two cold at 5 ms each: 32 items in 32/3 ≈ 10.7 ms + 5 ms setup beat 32 ms on the warm one
        // alone (summed setups, 10 ms, would still beat it), and beat 16 ms + 5 ms on two.
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 0, ["b"] = 5, ["c"] = 5 }, 32, "a", "b", "c");
        Assert.Empty(outcome.LeftOut);
        Assert.Equal(5, outcome.SetupMs);

        // Setups of 9 ms each: together (in parallel) 9 + 11 = 20 ms, better than one cold unit left out (9 + 16 = 25)
        // or both (32). A rule summing the setups (18 + 11 = 29) would leave one out.
        var parallel = Apply(new Dictionary<string, double?> { ["a"] = 0, ["b"] = 9, ["c"] = 9 }, 32, "a", "b", "c");
        Assert.Empty(parallel.LeftOut);
        Assert.Equal(3, parallel.Plan.Shares.Count(s => s.Items > 0));
    }

    [Fact]
    public void Cold_units_that_only_pay_off_without_each_other_are_left_out_together()
    {
        // Two cold units of 40 ms: leaving out one still pays 40 ms; only leaving out both (32 ms) beats keeping them (51 ms).
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 0, ["b"] = 40, ["c"] = 40 }, 32, "a", "b", "c");
        Assert.Equal(new[] { "b", "c" }, outcome.LeftOut.Select(l => l.Unit).Order());
        Assert.Equal(32, outcome.ChosenMs, 6);
        Assert.Equal(new[] { "a", "b", "c" }, outcome.Plan.Shares.Select(s => s.Unit));
    }

    [Fact]
    public void The_only_unit_is_never_left_out()
    {
        var outcome = Apply(new Dictionary<string, double?> { ["a"] = 1e6 }, 32, "a");
        Assert.Empty(outcome.LeftOut);
        Assert.Equal(32, outcome.Plan.Shares.Single().Items);
    }
}

/// <summary>A unit's setup estimate from its profile rows and its session's state.</summary>
public sealed class SetupCostTests
{
    private static PerfEntry Row(int batch, double? openMs, double? warmUpMs) => new()
    {
        Model = "net", Unit = "gpu0", MachineName = "host", BatchSize = batch, ExecMs = batch, OpenMs = openMs, WarmUpMs = warmUpMs,
    };

    private static readonly PerfEntry[] Gpu = { Row(1, 900, 0), Row(8, 900, 40), Row(32, 900, 80) };

    [Fact]
    public void A_closed_session_costs_its_opening_and_every_size()
    {
        Assert.Equal(900 + 40 + 80, SetupCost.Estimate(Gpu, sessionOpen: false, _ => false, new[] { 8, 32, 32 }));
    }

    [Fact]
    public void An_open_session_costs_only_its_cold_sizes()
    {
        Assert.Equal(80, SetupCost.Estimate(Gpu, sessionOpen: true, b => b == 8, new[] { 8, 32 }));
        Assert.Equal(0, SetupCost.Estimate(Gpu, sessionOpen: true, _ => true, new[] { 8, 32 }));
    }

    [Fact]
    public void An_unprofiled_size_takes_the_warm_up_between_its_neighbours()
    {
        Assert.Equal(60, SetupCost.Estimate(Gpu, sessionOpen: true, _ => false, new[] { 20 }));
        Assert.Equal(80, SetupCost.Estimate(Gpu, sessionOpen: true, _ => false, new[] { 64 }));
    }

    [Fact]
    public void Rows_without_setup_costs_make_a_cold_unit_unknown_and_a_warm_one_free()
    {
        var old = new[] { Row(1, null, null), Row(8, null, null) };
        Assert.Null(SetupCost.Estimate(old, sessionOpen: false, _ => false, new[] { 8 }));
        Assert.Null(SetupCost.Estimate(old, sessionOpen: true, _ => false, new[] { 8 }));
        Assert.Equal(0, SetupCost.Estimate(old, sessionOpen: true, _ => true, new[] { 8 }));
    }
}
