using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>
/// GPU units run measured batch sizes only (their buckets): a size between two measured ones is padded or split
/// into measured chunks, never run as a shape the session has not warmed.
/// </summary>
public sealed class BucketSizeTests
{
    private static readonly MeasuredPoint[] Points =
    {
        new(1, 1.0), new(4, 2.0), new(8, 3.0), new(16, 5.0), new(32, 9.0),
    };

    [Fact]
    public void A_bucketed_curve_executes_measured_sizes_only_and_costs_their_sum()
    {
        var curve = new UnitCostCurve("gpu0", Points, measuredSizesOnly: true);
        var measured = Points.Select(p => p.BatchSize).ToHashSet();
        Assert.True(curve.MeasuredSizesOnly);
        for (int n = 1; n <= 100; n++)
        {
            var sizes = curve.ExecutedBatchSizes(n);
            Assert.All(sizes, s => Assert.Contains(s, measured));
            Assert.True(sizes.Sum() >= n);
            double cost = sizes.Sum(s => Points.Single(p => p.BatchSize == s).TotalMs);
            Assert.Equal(cost, curve.Cost(n), 6);
        }
        // 5 items: padded to 8 (3.0 ms) beats 4 + 1 (also 3.0 ms) on the tie rule (one batch), and 6 is never run.
        Assert.Equal(new[] { 8 }, curve.ExecutedBatchSizes(5));
        Assert.Equal(double.PositiveInfinity, curve.DirectMs(6));
        Assert.Equal(3.0, curve.SingleRunMs(6), 6);
    }

    [Fact]
    public void An_unbucketed_curve_interpolates_between_measured_sizes()
    {
        var curve = new UnitCostCurve("cpu", Points);
        Assert.False(curve.MeasuredSizesOnly);
        Assert.Equal(new[] { 6 }, curve.ExecutedBatchSizes(6));
        Assert.True(curve.Cost(6) < 3.0);
    }

    [Fact]
    public void Table_rows_of_a_cuda_unit_make_a_bucketed_curve()
    {
        PerfEntry Row(string unit, string backend, int b, double ms) => new()
        {
            Model = "net", MachineName = "host", Unit = unit, Backend = backend, BatchSize = b, ExecMs = ms,
        };
        var rows = Points.SelectMany(p => new[]
        {
            Row("gpu0", BackendNames.OrtCuda, p.BatchSize, p.TotalMs),
            Row("cpu", BackendNames.OrtCpu, p.BatchSize, p.TotalMs * 4),
        });
        var model = CostModel.FromTable(rows, "net", null, new[] { "gpu0", "cpu" });
        Assert.True(model.Find("gpu0")!.MeasuredSizesOnly);
        Assert.False(model.Find("cpu")!.MeasuredSizesOnly);

        var plan = BatchPlanner.Plan(model, 37);
        var gpu = plan.Shares.Single(s => s.Unit == "gpu0");
        Assert.All(gpu.ExecutedBatchSizes, s => Assert.Contains(s, Points.Select(p => p.BatchSize)));
    }
}
