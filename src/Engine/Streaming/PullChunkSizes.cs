using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// The chunk size each unit pulls in a <see cref="StreamSchedule.Pull"/> stream, from its perf-table curve: a size the
/// table measured, never above the batch size (a chunk is cut from one decoded batch).
/// <list type="bullet">
/// <item>A unit that runs measured sizes only (a GPU: <see cref="UnitCostCurve.MeasuredSizesOnly"/>): its best items/s
/// among the measured sizes ≤ the batch size (the larger on ties: fewer launches).</item>
/// <item>Any other unit (the CPU): its best items/s too, but among the sizes whose time is at most
/// <see cref="CapFactor"/> times the longest GPU chunk. While a chunk runs, its batch can be neither written nor its buffer
/// reused, so the GPUs run ahead of it by at most BatchesInFlight − 1 batches; a GPU chunk is at most a batch, so a CPU
/// chunk of up to two GPU chunks keeps the GPUs pulling with the default window of 3, and bounds the tail at the dataset's
/// end (the GPUs idle while the last CPU chunk finishes). A CPU's items/s hardly changes past small sizes, so the cap
/// costs it little. When no size fits, the smallest measured one; without GPUs there is no cap.</item>
/// </list>
/// </summary>
public static class PullChunkSizes
{
    /// <summary>A CPU chunk may take at most this many times the longest GPU chunk.</summary>
    public const double CapFactor = 2.0;

    /// <summary>Chunk size by unit id (case-insensitive) for <paramref name="curves"/> and batches of
    /// <paramref name="batchSize"/> items; units that cannot run the model are left out.</summary>
    public static IReadOnlyDictionary<string, int> Choose(IReadOnlyList<UnitCostCurve> curves, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be 1 or more.");
        var sizes = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        double gpuChunkMs = 0;
        foreach (var curve in curves.Where(c => c.IsUsable && c.MeasuredSizesOnly))
        {
            var best = Best(curve.Points.Where(p => p.BatchSize <= batchSize)) ?? curve.Points[0];
            sizes[curve.Unit] = best.BatchSize;
            gpuChunkMs = Math.Max(gpuChunkMs, best.TotalMs);
        }
        foreach (var curve in curves.Where(c => c.IsUsable && !c.MeasuredSizesOnly))
        {
            var fits = curve.Points.Where(p => p.BatchSize <= batchSize && (gpuChunkMs == 0 || p.TotalMs <= CapFactor * gpuChunkMs));
            // Nothing fits: the smallest measured size (a CPU runs any size, so never more than the batch).
            sizes[curve.Unit] = Best(fits)?.BatchSize ?? Math.Min(curve.Points[0].BatchSize, batchSize);
        }
        return sizes;
    }

    /// <summary>The point of most items per ms (the larger size on ties), or null for none.</summary>
    private static MeasuredPoint? Best(IEnumerable<MeasuredPoint> points)
    {
        MeasuredPoint? best = null;
        foreach (var p in points)
            if (best is not { } b || p.BatchSize * b.TotalMs > b.BatchSize * p.TotalMs || (p.BatchSize * b.TotalMs == b.BatchSize * p.TotalMs && p.BatchSize > b.BatchSize))
                best = p;
        return best;
    }
}
