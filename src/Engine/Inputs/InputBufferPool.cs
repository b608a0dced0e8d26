using System.Numerics;
using HeteroBatch.Engine.Backends;

namespace HeteroBatch.Engine.Inputs;

/// <summary>
/// Reusable pinned buffers for the batches a run loads itself (.npy files, images). A GPU session page-locks a
/// reusable buffer on its first use, so from the second call on the input travels by DMA straight from the
/// buffer it was read into, as the profiler's pinned buffers do. The pool keeps a few buffers, bounded in bytes;
/// a buffer is rounded up to a power of two of floats so that batches of nearby sizes share it.
/// </summary>
public static class InputBufferPool
{
    /// <summary>Bytes the pool keeps at most while idle.</summary>
    public const long MaxPooledBytes = 2L << 30;
    private const int MaxPooledBuffers = 4;

    private static readonly object Gate = new();
    private static readonly List<float[]> Free = new();

    /// <summary>A reusable pinned buffer of at least <paramref name="elements"/> floats (from the pool when one fits).</summary>
    public static float[] Rent(long elements)
    {
        if (elements < 0 || elements > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(elements));
        lock (Gate)
        {
            // The smallest free buffer that fits, so a small batch does not take the large one.
            int best = -1;
            for (int i = 0; i < Free.Count; i++)
                if (Free[i].LongLength >= elements && (best < 0 || Free[i].LongLength < Free[best].LongLength)) best = i;
            if (best >= 0)
            {
                var buffer = Free[best];
                Free.RemoveAt(best);
                return buffer;
            }
        }
        long size = Math.Max(1, elements);
        long rounded = (long)BitOperations.RoundUpToPowerOf2((ulong)size);
        if (rounded > Array.MaxLength) rounded = size;
        return PinnedArrays.AllocateReusable((int)rounded);
    }

    /// <summary>Gives <paramref name="buffer"/> back for the next batch; dropped when the pool is full.</summary>
    public static void Return(float[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (!PinnedArrays.IsReusable(buffer)) return;
        lock (Gate)
        {
            if (Free.Any(b => ReferenceEquals(b, buffer))) return;
            Free.Add(buffer);
            // Over the bounds: drop the largest buffers first (the GC frees them; their page-locking ends with them).
            while (Free.Count > MaxPooledBuffers || Free.Sum(b => b.LongLength * sizeof(float)) > MaxPooledBytes)
                Free.Remove(Free.MaxBy(b => b.LongLength)!);
        }
    }

    /// <summary>Drops every waiting buffer (tests start from an empty pool).</summary>
    internal static void Clear()
    {
        lock (Gate) Free.Clear();
    }

    /// <summary>Buffers waiting in the pool (diagnostics and tests).</summary>
    public static int FreeCount
    {
        get { lock (Gate) return Free.Count; }
    }
}
