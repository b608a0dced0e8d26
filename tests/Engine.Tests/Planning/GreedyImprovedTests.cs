using HeteroBatch.Engine.Planning;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>The greedy variant with changed rules (not the seed's; <see cref="SeedSearchTests"/> tests the seed's).</summary>
public class GreedyImprovedTests
{
    private static UnitCostCurve Linear(string name, double msPerItem) =>
        TestUnit.Linear(name, msPerItem, Enumerable.Range(1, 16)).Curve();

    [Fact]
    public void FollowsItsRules_OnAHandCheckedExample()
    {
        // A 1 ms/item, B 2 ms/item, C 4 ms/item; 8 items. Hand trace (times after each move):
        //  start: all 8 on A, the fastest for the whole batch (8 ms).
        //  round 1, trial 1: B would be 2, C 4 -> margins 8-2=6 and 8-4=4 -> move to B: A 7, B 2.
        //  round 2: B would be 4 (others: C 0) -> margin 3; C would be 4 (others: B 2) -> margin 3;
        //           tie -> the earlier unit, B: A 6, B 4.
        //  round 3: B would be 6 -> margin 0; C would be 4 (B 4) -> margin 2 -> C: A 5, B 4, C 4.
        //  round 4: B would be 6 > 5, C 8 > 5 -> no move; trial 2.
        //  round 5: B 8, C 12 -> no move; second idle round: the pass ends.
        //  final pass from the slowest, A (5 ms): rounds 6 and 7 move nothing.
        var result = BaselineSplits.GreedyImproved(new[] { Linear("A", 1), Linear("B", 2), Linear("C", 4) }, 8);
        Assert.Equal(new[] { 5, 2, 1 }, result.Items);
        Assert.Equal(7, result.Rounds);
        Assert.False(result.Capped);
    }

    [Fact]
    public void TheFinalPass_TakesBackTheOvershootOfTheFirst()
    {
        // A 1 ms/item, B 3 ms/item; 7 items.
        //  round 1: B would be 3 <= A's 7 -> A 6, B 3.
        //  round 2: B would be 6 <= A's 6 -> A 5, B 6 (B now slower than A).
        //  rounds 3, 4: B 9 and 12 > 5 -> pass ends.
        //  final pass, base B (6 ms): round 5 moves 1 back (A would be 6 <= 6): A 6, B 3;
        //  round 6: A would be 7 > 3; round 7: trial 2 > B's 1 item -> ends.
        var result = BaselineSplits.GreedyImproved(new[] { Linear("A", 1), Linear("B", 3) }, 7);
        Assert.Equal(new[] { 6, 1 }, result.Items);
        Assert.Equal(7, result.Rounds);
    }

    [Fact]
    public void TheRoundLimit_StopsTheSearch_AndIsReported()
    {
        var result = BaselineSplits.GreedyImproved(new[] { Linear("A", 1), Linear("B", 1) }, 1000, maxRounds: 10);
        Assert.True(result.Capped);
        Assert.Equal(10, result.Rounds);
        Assert.Equal(1000, result.Items.Sum());
    }

    [Fact]
    public void ProportionalAndEven_SplitAsDocumented()
    {
        var curves = new[] { Linear("A", 1), Linear("B", 3) };
        Assert.Equal(new[] { 8, 2 }, BaselineSplits.Proportional(curves, 10)); // 7.5 / 2.5 -> tie on remainders -> A
        Assert.Equal(new[] { 6, 5 }, BaselineSplits.Even(curves, 11));
    }
}
