namespace HeteroBatch.Engine.Streaming;

/// <summary>How a dataset stream keeps its units busy (see <see cref="DatasetStream"/>).</summary>
public enum StreamSchedule
{
    /// <summary>Each decoded batch is planned from the perf table and split across the units; the next batch starts when
    /// the slowest unit of this one is done (a barrier per batch).</summary>
    PerBatch,
    /// <summary>Chunked self-scheduling: every unit pulls the next chunk of decoded items at its own chunk size
    /// (<see cref="PullChunkSizes"/>) as soon as it is free; outputs are put back in input order. No barrier.</summary>
    Pull,
}
