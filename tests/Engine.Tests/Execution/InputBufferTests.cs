using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Tests.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>The pool of reusable pinned input buffers is process-wide: these tests run alone.</summary>
[CollectionDefinition(nameof(InputBufferCollection), DisableParallelization = true)]
public sealed class InputBufferCollection { }

/// <summary>
/// Inputs land in reusable pinned buffers once: .npy batches in pooled buffers that go back after the run, synthetic
/// batches generated once per size and seed, batches the caller keeps in buffers of their own.
/// </summary>
[Collection(nameof(InputBufferCollection))]
public sealed class InputBufferTests
{
    [Fact]
    public void A_returned_buffer_serves_the_next_batch_that_fits()
    {
        // Other test classes return buffers too: start from an empty pool.
        InputBufferPool.Clear();
        var first = InputBufferPool.Rent(3_000_001);
        Assert.True(PinnedArrays.IsReusable(first));
        Assert.True(first.Length >= 3_000_001);
        InputBufferPool.Return(first);
        Assert.Same(first, InputBufferPool.Rent(2_500_000));
        InputBufferPool.Return(first);
        InputBufferPool.Return(first); // twice: kept once
        Assert.Same(first, InputBufferPool.Rent(3_000_000));
        Assert.NotSame(first, InputBufferPool.Rent(3_000_000));
    }

    [Fact]
    public void An_npy_batch_is_read_into_a_pooled_buffer_that_the_release_gives_back()
    {
        using var folder = new TempFolder();
        var model = ExecutionTestModels.Small;
        InputBufferPool.Clear();
        var path = Path.Combine(folder.Path, "batch.npy");
        var data = Enumerable.Range(0, 5 * model.InputElementsPerItem).Select(i => (float)(i % 97) / 97f).ToArray();
        NpyFile.Write(path, data, new[] { 5 }.Concat(model.InputItemShape).ToArray());

        var batch = BatchInputLoader.Load(InputSource.Files(path), model);
        Assert.True(batch.ReturnsToPool);
        Assert.True(PinnedArrays.IsReusable(batch.Buffer));
        Assert.True(batch.Data.Span.SequenceEqual(data));
        var buffer = batch.Buffer;

        BatchInputLoader.Release(batch);
        var again = BatchInputLoader.Load(InputSource.Files(path), model);
        Assert.Same(buffer, again.Buffer);
        BatchInputLoader.Release(again);
    }

    [Fact]
    public void A_synthetic_batch_is_generated_once_per_size_and_seed()
    {
        var shape = ExecutionTestModels.Small.InputItemShape;
        var a = BatchInputLoader.Synthetic(shape, 33, seed: 7);
        var b = BatchInputLoader.Synthetic(shape, 33, seed: 7);
        var c = BatchInputLoader.Synthetic(shape, 33, seed: 8);
        Assert.Same(a, b);
        Assert.NotSame(a, c);
        Assert.False(a.Data.Span.SequenceEqual(c.Data.Span));
        Assert.True(PinnedArrays.IsReusable(a.Buffer));
        Assert.False(a.ReturnsToPool);
        // A range of the batch has the whole batch's values.
        Assert.True(BatchInputLoader.Synthetic(shape, 33, 7, 10, 5).Data.Span.SequenceEqual(a.Slice(10, 5).Span));
    }

    [Fact]
    public void A_kept_batch_owns_a_reusable_buffer_and_runs_without_a_copy()
    {
        var model = ExecutionTestModels.Small;
        var caller = Enumerable.Range(0, 3 * model.InputElementsPerItem).Select(i => (float)i).ToArray();
        var kept = BatchInputLoader.Keep(BatchInputLoader.Load(InputSource.FromArray(caller), model));
        Assert.NotSame(caller, kept.Buffer);
        Assert.True(PinnedArrays.IsReusable(kept.Buffer));
        Assert.True(kept.Data.Span.SequenceEqual(caller));
        // Loading a kept batch gives the batch itself: nothing is read or copied.
        Assert.Same(kept, BatchInputLoader.Load(InputSource.FromBatch(kept), model));
        // A kept pooled batch never goes back to the pool.
        Assert.False(kept.ReturnsToPool);
    }
}
