using HeteroBatch.Engine.Planning;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>The seed's rules (<c>Partition.py</c>), each on a hand-traced example.</summary>
public class SeedSearchTests
{
    private static Func<int, double> PerItem(double ms) => n => n * ms;

    [Fact]
    public void ABaseWithOneItemFewer_DecidesAMove_AndTiesGoToTheLastUnit()
    {
        // A 1 ms/item, B and C 2 ms/item, 3 items. Base A (3 ms for all).
        //  round 1, trial 1: bar = A with 2 items = 2 ms. B would be 2 (gap 0), C would be 2 (gap 0): tie -> the
        //           last, C: A 2, C 1.
        //  round 2: bar = A(1) = 1; B(1) = 2 and C(2) = 4 are above it. Round 3, trial 2: B(2) = 4, C(3) = 6: no move.
        //  then the unit slowest for the whole batch, B (6 ms; C ties, the first wins), becomes the base; it holds
        //  nothing, where Partition.py would fail: the search ends.
        var result = SeedSearch.Split(new[] { PerItem(1), PerItem(2), PerItem(2) }, 3);
        Assert.Equal(new[] { 2, 0, 1 }, result.Items);
        Assert.Equal(3, result.Rounds);
        Assert.Equal(new[] { 2.0, 0, 2 }, result.EstimatedMs);
    }

    [Fact]
    public void TheSearch_StopsAsSoonAsTheBaseHoldsOneItem()
    {
        // A flat 10 ms (a GPU far from full), B 0.5 ms/item; 21 items. Base A (10 < 10.5). The bar stays 10 ms, so
        // B takes items one by one up to 20 (10 ms); after round 20 A holds 1 item and the search stops there
        // (no idle rounds, no second base).
        Func<int, double> flat = n => n == 0 ? 0 : 10;
        var result = SeedSearch.Split(new[] { flat, PerItem(0.5) }, 21);
        Assert.Equal(new[] { 1, 20 }, result.Items);
        Assert.Equal(20, result.Rounds);
    }

    [Fact]
    public void TrialDoublesAfterARoundWithoutAMove_AndTheSlowestUnitGetsOneLastRound()
    {
        // A 1 ms/item; B runs 2 and 4 items in 2 and 4 ms but any other count in 100 ms per item. 6 items, base A.
        //  round 1, trial 1: bar A(5) = 5; B(1) = 100: no move.  round 2, trial 2: B(2) = 2 -> A 4, B 2.
        //  round 3, trial 1 again: bar A(3) = 3; B(3) = 300.  round 4, trial 2: B(4) = 4 > 3: no move.
        //  round 5: B, slowest for the whole batch (600 ms), is the base: bar B(1) = 100; A(5) = 5 -> A 5, B 1,
        //  and B holding 1 item ends the search. The last round makes the split worse (100 ms): the seed's rule.
        Func<int, double> b = n => n is 2 or 4 ? n : 100.0 * n;
        var result = SeedSearch.Split(new[] { PerItem(1), b }, 6);
        Assert.Equal(new[] { 5, 1 }, result.Items);
        Assert.Equal(5, result.Rounds);
        Assert.Equal(new[] { 5.0, 100 }, result.EstimatedMs);
    }

    [Fact]
    public void AUnitThatCannotRun_IsLeftOut()
    {
        Func<int, double> none = n => n == 0 ? 0 : double.PositiveInfinity;
        var result = SeedSearch.Split(new[] { none, PerItem(1), PerItem(1) }, 4);
        Assert.Equal(0, result.Items[0]);
        Assert.Equal(4, result.Items.Sum());
        Assert.Equal(new[] { 0 }, SeedSearch.Split(new[] { none }, 4).Items);
        Assert.Equal(new[] { 0, 0 }, SeedSearch.Split(new[] { PerItem(1), PerItem(1) }, 0).Items);
    }

    [Fact]
    public void TheEstimate_IsTheSeeds()
    {
        // Whole-batch times: exec 2 ms/item and I/O 1 ms/item at 1..5, 7, 8, 9, 15, 16, 17; size 9 is slower.
        var sizes = new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17 };
        var unit = new SeedEstimate("u", sizes.Select(s => (s, s == 9 ? 9 * 3.0 : 2.0 * s, 1.0 * s)));
        Assert.Equal(8 * 2.0, unit.Ms(8));           // measured: exec alone
        Assert.Equal(6 * 3.0, unit.Ms(6), 12);       // between 5 and 7: exec + I/O
        // 10..14 interpolate between 9 (3 ms/item) and 15 (2 ms/item): 12 -> 2.5 ms/item exec, 1 I/O.
        Assert.Equal(12 * 3.5, unit.Ms(12), 12);
        Assert.Equal(40 * 2.0, unit.Ms(40), 12);     // above 17: 17's per-item exec time
        Assert.Equal(0, unit.Ms(0));
        // Off the paper's grid (no 5 or 7): the nearest measured sizes, 4 and 8.
        var coarse = new SeedEstimate("c", new[] { (4, 8.0, 4.0), (8, 24.0, 8.0) });
        Assert.Equal(6 * (2.5 + 1), coarse.Ms(6), 12);
        Assert.Equal(2 * 2.0, coarse.Ms(2), 12);     // below the smallest: its per-item exec time
        Assert.False(new SeedEstimate("x", Array.Empty<(int, double, double)>()).IsUsable);
    }
}
