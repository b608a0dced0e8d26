using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Tests.Execution;
using Xunit;

namespace HeteroBatch.Engine.Tests.Distributed;

/// <summary>What one machine loads of a batch: a range of items that equals that part of the whole batch.</summary>
public sealed class RangeInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-range-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0, 5)]
    [InlineData(7, 3)]
    [InlineData(19, 1)]
    public void A_synthetic_range_is_that_part_of_the_whole_batch(int first, int count)
    {
        var model = ExecutionTestModels.Small;
        var whole = BatchInputLoader.Load(InputSource.Synthetic(20, 11), model);
        var part = BatchInputLoader.Load(InputSource.Range(InputSource.Synthetic(20, 11), first, count), model);
        Assert.Equal(count, part.Count);
        Assert.Equal(whole.Slice(first, count).ToArray(), part.Data.ToArray());
    }

    [Fact]
    public void A_npy_range_reads_across_files_and_keeps_the_item_sources()
    {
        var model = ExecutionTestModels.Small;
        int per = model.InputElementsPerItem;
        var all = Enumerable.Range(0, 7 * per).Select(i => (float)Math.Sin(i)).ToArray();
        NpyFile.Write(Path.Combine(_dir, "a.npy"), all.AsSpan(0, 3 * per), new[] { 3 }.Concat(model.InputItemShape).ToArray());
        NpyFile.Write(Path.Combine(_dir, "b.npy"), all.AsSpan(3 * per, 4 * per), new[] { 4 }.Concat(model.InputItemShape).ToArray());
        var part = BatchInputLoader.Load(InputSource.Range(InputSource.Files(_dir), 2, 3), model);
        Assert.Equal(all.AsSpan(2 * per, 3 * per).ToArray(), part.Data.ToArray());
        Assert.Equal(new[] { "a.npy[2]", "b.npy[0]", "b.npy[1]" }, part.Sources);
    }

    [Fact]
    public void A_range_outside_the_batch_is_refused()
    {
        var e = Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Range(InputSource.Synthetic(10), 8, 3), ExecutionTestModels.Small));
        Assert.Equal(ExecutionErrorIds.InvalidBatchSize, e.ErrorId);
    }
}
