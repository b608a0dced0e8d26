using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>
/// A GPU pipelines its full chunks (chunk k+1 is copied in while chunk k computes): the cost model charges the first
/// full chunk its whole time and every later full chunk its time less its copy in; the last run is charged whole. On the H200, ResNet-50 at 1,000 items ran 6 % under
/// the plain sum, so a GPU+CPU plan looked faster than the GPU alone and ran 9 % slower.
/// </summary>
public sealed class PipelineOverlapTests
{
    private static readonly MeasuredPoint[] Gpu = { new(8, 1.4, 0.1), new(128, 16.7, 1.5), new(256, 32.4, 3.0) };

    private static double Whole(int size) => Gpu.Single(p => p.BatchSize == size).TotalMs;
    private static double Copy(int size) => Gpu.Single(p => p.BatchSize == size).OverlapMs;

    /// <summary>What the executor's pipeline takes for these sizes, by the rule above.</summary>
    private static double Pipelined(int[] sizes, int items)
    {
        double ms = 0;
        for (int i = 0; i < sizes.Length; i++)
            ms += i == 0 || i == sizes.Length - 1 ? Whole(sizes[i]) : Whole(sizes[i]) - Copy(sizes[i]);
        return ms;
    }

    [Fact]
    public void Later_chunks_hide_their_copy_and_the_prediction_is_the_most_any_fewer_items_take()
    {
        var curve = new UnitCostCurve("gpu0", Gpu, measuredSizesOnly: true);
        // One run pays everything; two runs of 128 are not split from one of 256: the last run is charged whole.
        Assert.Equal(32.4, curve.Cost(256), 6);
        Assert.Equal(new[] { 256 }, curve.ExecutedBatchSizes(256));
        // 768 items: a small first chunk primes the pipeline, so the big chunks after it hide their copies.
        Assert.Equal(new[] { 8, 256, 256, 128, 128 }, curve.ExecutedBatchSizes(768));
        Assert.True(curve.Cost(768) < 3 * 32.4 - 3.0);
        // The plan for n runs in Pipelined(n); the curve (non-decreasing, as the split solver needs) is the most that
        // any m ≤ n items take, far past the table it computes before it turns periodic.
        double most = 0, previous = 0;
        for (int n = 1; n <= 3000; n++)
        {
            var sizes = curve.ExecutedBatchSizes(n);
            Assert.True(sizes.Sum() >= n);
            Assert.True(sizes.Take(sizes.Length - 1).Sum() < n, $"n={n}: only the last run may be padded");
            most = Math.Max(most, Pipelined(sizes, n));
            Assert.Equal(most, curve.Cost(n), 6);
            Assert.True(curve.Cost(n) >= previous, $"n={n}: {curve.Cost(n)} after {previous}");
            previous = curve.Cost(n);
        }
        Assert.Equal(curve.Cost(100_000 - 256) + (32.4 - 3.0), curve.Cost(100_000), 6);
    }

    [Fact]
    public void Without_copies_to_hide_the_cost_is_the_plain_sum_as_before()
    {
        var plain = new UnitCostCurve("gpu0", Gpu.Select(p => p with { OverlapMs = 0 }), measuredSizesOnly: true);
        for (int n = 1; n <= 1200; n += 11)
            Assert.Equal(plain.ExecutedBatchSizes(n).Sum(Whole), plain.Cost(n), 6);
    }

    [Fact]
    public void The_cost_model_hides_the_copies_of_CUDA_units_only()
    {
        PerfEntry Row(string unit, string backend, int size, double exec, double io, double h2d) => new()
        {
            Model = "m", Unit = unit, Backend = backend, BatchSize = size, ExecMs = exec, IoMs = io, HostToDeviceMs = h2d,
            Status = PerfStatus.Ok, MachineName = "host",
        };
        var rows = new[]
        {
            Row("gpu0", UnitBackends.OrtCuda, 128, 15.2, 1.5, 1.5), Row("gpu0", UnitBackends.OrtCuda, 256, 29.4, 3.0, 3.0),
            Row("cpu", UnitBackends.OrtCpu, 128, 100, 1.5, 1.5), Row("cpu", UnitBackends.OrtCpu, 256, 200, 3.0, 3.0),
        };
        var model = CostModel.FromTable(rows, "m", null, new[] { "gpu0", "cpu" });
        var gpu = model.Find("gpu0")!;
        var cpu = model.Find("cpu")!;
        // The GPU's middle chunks less their copies; a CPU does not pipeline: the plain sum of its runs.
        var sizes = gpu.ExecutedBatchSizes(640);
        double expected = sizes.Select((b, i) => (b == 128 ? 16.7 : 32.4) - (i > 0 && i < sizes.Length - 1 ? (b == 128 ? 1.5 : 3.0) : 0)).Sum();
        Assert.Equal(expected, gpu.Cost(640), 6);
        Assert.True(gpu.Cost(640) < sizes.Sum(b => b == 128 ? 16.7 : 32.4));
        Assert.Equal(cpu.ExecutedBatchSizes(640).Sum(b => b == 128 ? 101.5 : 203.0), cpu.Cost(640), 6);
    }
}
