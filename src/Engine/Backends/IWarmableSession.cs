namespace HeteroBatch.Engine.Backends;

/// <summary>
/// A session whose first run at a batch size pays a one-time cost: on a GPU, cuDNN's algorithm search and the
/// capture of a CUDA graph for that shape; on a CPU, the first run's allocations. The executor warms the sizes a
/// plan runs before it starts its clock, so a run takes the steady time the performance table predicts, and the
/// setup is reported apart (<see cref="Execution.InferenceResult.SetupMs"/>).
/// </summary>
public interface IWarmableSession
{
    /// <summary>True when a run of <paramref name="batchSize"/> items (alone or as a pipelined chunk) pays no one-time cost.</summary>
    bool IsWarm(int batchSize);

    /// <summary>Runs <paramref name="batchSize"/> items of scratch input until that size is warm; outputs are discarded.
    /// Warmth may belong to the calling thread (ORT's CUDA graphs do): warm on the thread that runs, the unit's worker.</summary>
    void WarmUp(int batchSize, CancellationToken cancellationToken = default);

    /// <summary>
    /// Readies the host side of runs over <paramref name="input"/> with chunks of up to <paramref name="largestChunk"/>
    /// items: a GPU session page-locks a reusable input buffer and sizes its staging buffers (for the whole of
    /// <paramref name="input"/>, which a chunk pipeline stages at once), so the first run pays none of it.
    /// </summary>
    void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk);
}
