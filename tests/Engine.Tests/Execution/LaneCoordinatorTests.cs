using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>The coordinator units and machines share, over lanes that are plain threads here, and the water fill they re-plan with.</summary>
public sealed class LaneCoordinatorTests
{
    private sealed record Work(string Lane, int Offset, int Items) : ILaneWork;

    /// <summary>Lanes on thread-pool threads; a lane in <paramref name="failing"/> computes <paramref name="before"/> items then fails.</summary>
    private static (LaneCoordinator<Work> Coordinator, List<Work> Done) Lanes(string[] lanes, HashSet<string> failing, int before,
        Func<Exception, bool>? stopsRun = null, Exception? error = null, CancellationToken token = default)
    {
        var done = new List<Work>();
        LaneCoordinator<Work>? coordinator = null;
        coordinator = new LaneCoordinator<Work>(token, TimeSpan.FromSeconds(1))
        {
            Post = w => ThreadPool.QueueUserWorkItem(_ =>
            {
                if (failing.Contains(w.Lane)) coordinator!.Complete(w, w.Offset + Math.Min(before, w.Items), error ?? new InvalidOperationException($"{w.Lane} broke"));
                else
                {
                    lock (done) done.Add(w);
                    coordinator!.Complete(w, w.Offset + w.Items, null);
                }
            }),
            Replan = (failed, from, _) =>
            {
                var alive = lanes.Where(l => !failing.Contains(l)).ToArray();
                var counts = WaterFill.Split(failed.Offset + failed.Items - from, alive.Select(_ => 0.0).ToArray(), alive.Select(_ => 1.0).ToArray());
                var list = new List<Work>();
                for (int i = 0; i < alive.Length; i++)
                {
                    if (counts[i] > 0) list.Add(new Work(alive[i], from, counts[i]));
                    from += counts[i];
                }
                return list;
            },
            StopsRun = stopsRun ?? (_ => false),
        };
        return (coordinator, done);
    }

    [Fact]
    public void A_failed_lanes_unfinished_items_go_to_the_lanes_still_running()
    {
        var (coordinator, done) = Lanes(new[] { "a", "b", "c" }, new HashSet<string> { "b" }, before: 3);
        var uncomputed = coordinator.Run(new[] { new Work("a", 0, 10), new Work("b", 10, 10), new Work("c", 20, 10) });
        Assert.Empty(uncomputed);
        // b finished items 10-12; 13-19 were spread over a and c, and every item is computed once.
        var items = done.SelectMany(w => Enumerable.Range(w.Offset, w.Items)).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(13, 17)), items);
        Assert.DoesNotContain(done, w => w.Lane == "b");
    }

    [Fact]
    public void Items_no_lane_can_take_are_returned_as_ranges()
    {
        var (coordinator, _) = Lanes(new[] { "a", "b" }, new HashSet<string> { "a", "b" }, before: 2);
        var uncomputed = coordinator.Run(new[] { new Work("a", 0, 5), new Work("b", 5, 5) });
        Assert.Equal(new[] { (2, 5), (7, 10) }, uncomputed.OrderBy(r => r.From));
    }

    [Fact]
    public void An_error_that_stops_the_run_is_thrown_as_it_is()
    {
        var bad = new HeteroBatchException("ImageDecodeFailed", ErrorKind.InvalidData, "img3.png is not an image.");
        var (coordinator, _) = Lanes(new[] { "a", "b" }, new HashSet<string> { "b" }, before: 0, stopsRun: e => e is HeteroBatchException, error: bad);
        var thrown = Assert.Throws<HeteroBatchException>(() => coordinator.Run(new[] { new Work("a", 0, 4), new Work("b", 4, 4) }));
        Assert.Same(bad, thrown);
        Assert.True(coordinator.Token.IsCancellationRequested);
    }

    [Fact]
    public void A_cancelled_run_throws_with_the_callers_token()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var (coordinator, _) = Lanes(new[] { "a" }, new HashSet<string>(), before: 0, token: cts.Token);
        var thrown = Assert.ThrowsAny<OperationCanceledException>(() => coordinator.Run(new[] { new Work("a", 0, 4) }));
        Assert.Equal(cts.Token, thrown.CancellationToken);
    }

    [Theory]
    [InlineData(10, new[] { 0.0, 0.0 }, new[] { 1.0, 1.0 }, new[] { 5, 5 })]
    [InlineData(12, new[] { 0.0, 0.0 }, new[] { 1.0, 2.0 }, new[] { 8, 4 })]
    [InlineData(10, new[] { 5.0, 0.0 }, new[] { 1.0, 1.0 }, new[] { 3, 7 })]
    [InlineData(9, new[] { 0.0, 0.0, 0.0 }, new[] { double.NaN, 1.0, 1.0 }, new[] { 3, 3, 3 })]
    [InlineData(7, new[] { 0.0 }, new[] { double.NaN }, new[] { 7 })]
    public void Water_fill_splits_so_workers_finish_together_and_counts_unknown_speeds_as_the_average(int items, double[] busy, double[] rate, int[] expected)
    {
        var counts = WaterFill.Split(items, busy, rate);
        Assert.Equal(expected, counts);
        Assert.Equal(items, counts.Sum());
    }
}
