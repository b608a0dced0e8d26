using HeteroBatch.Engine.Backends;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// The input buffers of one dataset stream: at most <see cref="Capacity"/> exist, and renting waits while all are
/// out, which is what bounds the stream's memory. Buffers are pinned and reusable (a GPU page-locks each once).
/// </summary>
public sealed class StreamBufferPool : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly Stack<float[]> _free = new();
    private readonly int _elements;
    private int _inUse;

    public StreamBufferPool(int capacity, int elements)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        _elements = elements;
        _slots = new SemaphoreSlim(capacity, capacity);
    }

    public int Capacity { get; }
    /// <summary>Most buffers out at once so far.</summary>
    public int PeakInUse { get; private set; }
    /// <summary>Buffers made so far (never more than <see cref="Capacity"/>).</summary>
    public int Allocated { get; private set; }

    /// <summary>A buffer of the pool's size; waits while <see cref="Capacity"/> are out.</summary>
    public float[] Rent(CancellationToken cancellationToken)
    {
        _slots.Wait(cancellationToken);
        lock (_free)
        {
            _inUse++;
            PeakInUse = Math.Max(PeakInUse, _inUse);
            if (_free.Count > 0) return _free.Pop();
            Allocated++;
        }
        return PinnedArrays.AllocateReusable(_elements);
    }

    public void Return(float[] buffer)
    {
        lock (_free)
        {
            _free.Push(buffer);
            _inUse--;
        }
        _slots.Release();
    }

    public void Dispose()
    {
        lock (_free) _free.Clear();
        _slots.Dispose();
    }
}
