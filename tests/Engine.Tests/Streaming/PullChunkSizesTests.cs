using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Streaming;
using Xunit;

namespace HeteroBatch.Engine.Tests.Streaming;

/// <summary>The chunk size each unit pulls in a Pull stream (<see cref="PullChunkSizes"/>).</summary>
public sealed class PullChunkSizesTests
{
    private static UnitCostCurve Gpu(string id, params (int Size, double Ms)[] points) =>
        new(id, points.Select(p => new MeasuredPoint(p.Size, p.Ms)), measuredSizesOnly: true);

    private static UnitCostCurve Cpu(string id, params (int Size, double Ms)[] points) =>
        new(id, points.Select(p => new MeasuredPoint(p.Size, p.Ms)));

    [Fact]
    public void A_GPU_takes_its_best_items_per_second_among_the_measured_sizes_up_to_the_batch()
    {
        // Per item: 1 -> 2 ms, 32 -> 0.25, 64 -> 0.125 (best), 128 -> 0.1 but above the batch of 100.
        var gpu = Gpu("gpu0", (1, 2), (32, 8), (64, 8), (128, 12.8));
        Assert.Equal(64, PullChunkSizes.Choose(new[] { gpu }, 100)["gpu0"]);
        Assert.Equal(128, PullChunkSizes.Choose(new[] { gpu }, 128)["gpu0"]);
        // A table that is not monotone: 48 beats 64 per item.
        var bumpy = Gpu("gpu0", (1, 2), (48, 4.8), (64, 8));
        Assert.Equal(48, PullChunkSizes.Choose(new[] { bumpy }, 64)["gpu0"]);
    }

    [Fact]
    public void Ties_take_the_larger_size_and_a_batch_below_every_measured_size_takes_the_smallest()
    {
        var flat = Gpu("gpu0", (8, 8), (16, 16), (32, 32));
        Assert.Equal(32, PullChunkSizes.Choose(new[] { flat }, 64)["gpu0"]);
        Assert.Equal(8, PullChunkSizes.Choose(new[] { Gpu("gpu0", (8, 8), (16, 10)) }, 4)["gpu0"]); // padded up to 8
    }

    [Fact]
    public void Without_a_GPU_each_CPU_unit_takes_its_own_best_size()
    {
        var a = Cpu("cpu:0", (1, 10), (8, 60), (16, 128));   // 8 is best per item
        var b = Cpu("cpu:1", (1, 10), (4, 36), (16, 120));   // 16 is best
        var sizes = PullChunkSizes.Choose(new[] { a, b }, 16);
        Assert.Equal(8, sizes["cpu:0"]);
        Assert.Equal(16, sizes["cpu:1"]);
        Assert.Equal(4, PullChunkSizes.Choose(new[] { b }, 8)["cpu:1"]); // never above the batch
    }

    [Fact]
    public void A_CPU_chunk_takes_at_most_twice_the_longest_GPU_chunk()
    {
        var gpu = Gpu("gpu0", (1, 1), (64, 10), (128, 16)); // chunk 128 in 16 ms
        var cpu = Cpu("cpu", (1, 5), (4, 18), (8, 32), (32, 120)); // best per item is 32 (3.75 ms), but takes 120 ms
        var sizes = PullChunkSizes.Choose(new[] { cpu, gpu }, 128);
        Assert.Equal(128, sizes["gpu0"]);
        Assert.Equal(8, sizes["cpu"]); // 32 ms ≤ 2 × 16 ms; 32 items would take 120 ms
        Assert.Equal(2.0, PullChunkSizes.CapFactor);

        // No CPU size fits under the cap: the smallest measured one.
        var fast = Gpu("gpu0", (1, 0.5), (64, 2));
        Assert.Equal(1, PullChunkSizes.Choose(new[] { cpu, fast }, 64)["cpu"]);
    }

    [Fact]
    public void Units_that_cannot_run_the_model_get_no_chunk()
    {
        var oom = new UnitCostCurve("gpu1", new[] { new MeasuredPoint(8, 4) }, limitBatchSize: 1, measuredSizesOnly: true);
        var sizes = PullChunkSizes.Choose(new[] { oom, Cpu("cpu", (1, 5), (8, 30)) }, 8);
        Assert.False(sizes.ContainsKey("gpu1"));
        Assert.Equal(8, sizes["cpu"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => PullChunkSizes.Choose(new[] { Cpu("cpu", (1, 5)) }, 0));
    }
}
