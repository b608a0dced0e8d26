using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Inputs;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// How one unit runs a contiguous range of items at given chunk sizes, and how it gets ready to, written once for the
/// executor's shares (<see cref="HeteroExecutor"/>) and a dataset stream's pulled chunks
/// (<see cref="Streaming.DatasetStream"/>). Both run on the unit's <see cref="UnitWorker"/> thread.
/// </summary>
internal static class UnitChunkRunner
{
    /// <summary>
    /// Opens nothing (the caller acquired <paramref name="session"/>); warms <paramref name="sizes"/> (a GPU's algorithm
    /// search and graph capture per size), page-locks <paramref name="input"/> for chunks of up to its largest size, and
    /// sizes the worker's staging buffers for a padded chunk of <paramref name="padded"/> items (0: none).
    /// </summary>
    public static void Warm(UnitWorker worker, IInferenceSession session, IReadOnlyList<int> sizes, ReadOnlyMemory<float>? input,
        int padded, int inPerItem, int outPerItem, CancellationToken cancellationToken)
    {
        if (session is not IWarmableSession warm) return;
        foreach (var size in sizes)
            if (!cancellationToken.IsCancellationRequested && !warm.IsWarm(size)) warm.WarmUp(size, cancellationToken);
        // Page-lock the batch and size the staging buffers now, not inside the timed run.
        if (input is { } data && sizes.Count > 0) warm.PrepareBuffers(data, sizes.Max());
        if (padded > 0)
        {
            worker.StagingOutput(padded * outPerItem);
            warm.PrepareBuffers(worker.StagingInput(padded * inPerItem), padded);
        }
    }

    /// <summary>
    /// Runs items [<paramref name="offset"/>, offset + <paramref name="items"/>) of <paramref name="input"/> as
    /// <paramref name="chunks"/> (every size but the last full; the last may exceed the items left: it is padded with
    /// zeros in the worker's staging buffer and only the real outputs are kept), writing item i's output at
    /// <paramref name="output"/>[i · outPerItem]. Full chunks of a pipelining session (CUDA) run as one pipeline.
    /// <paramref name="onChunk"/> hears each chunk as it ends: its first item, planned size, real items and timing.
    /// </summary>
    public static void Run(UnitWorker worker, IInferenceSession session, BatchInput input, Memory<float> output, int offset, int items,
        IReadOnlyList<int> chunks, int outPerItem, Action<int, int, int, RunTiming> onChunk, CancellationToken cancellationToken)
    {
        int inPerItem = input.ElementsPerItem;
        int end = offset + items;
        int position = offset;
        // Full chunks of a GPU share run as one pipeline (the copy of chunk k+1 overlaps chunk k).
        int fullChunks = 0, fullItems = 0;
        foreach (var size in chunks)
        {
            if (fullItems + size > items) break;
            fullItems += size;
            fullChunks++;
        }
        IReadOnlyList<RunTiming>? pipelined = null;
        if (fullChunks >= 2 && session is IChunkPipelineSession pipeline && SessionCache.Unwrap(session) is IChunkPipelineSession)
        {
            pipelined = pipeline.RunChunks(input.Slice(position, fullItems), output.Slice(position * outPerItem, fullItems * outPerItem),
                chunks.Take(fullChunks).ToArray(), cancellationToken);
        }
        int chunkIndex = 0;
        foreach (var size in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int real = Math.Min(size, end - position);
            RunTiming timing;
            if (pipelined is not null && chunkIndex < pipelined.Count)
            {
                timing = pipelined[chunkIndex];
            }
            else if (real == size)
            {
                timing = session.Run(input.Slice(position, size), output.Slice(position * outPerItem, size * outPerItem), size, cancellationToken);
            }
            else
            {
                // Padded chunk: the real items plus zeros in a staging buffer of the planned size; only real outputs are kept.
                var stagedIn = worker.StagingInput(size * inPerItem);
                input.Slice(position, real).CopyTo(stagedIn);
                stagedIn.Span[(real * inPerItem)..].Clear();
                var stagedOut = worker.StagingOutput(size * outPerItem);
                timing = session.Run(stagedIn, stagedOut, size, cancellationToken);
                stagedOut[..(real * outPerItem)].CopyTo(output.Slice(position * outPerItem, real * outPerItem));
            }
            onChunk(position, size, real, timing);
            position += real;
            chunkIndex++;
        }
    }
}
