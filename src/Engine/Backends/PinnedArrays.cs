using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeteroBatch.Engine.Backends;

/// <summary>
/// Float arrays allocated on the pinned object heap, and remembered as such: their address never changes, so
/// a GPU backend may page-lock them (cudaHostRegister) and copy to and from them by DMA instead of staging
/// through a buffer of its own. Batch inputs and outputs are allocated here.
/// </summary>
public static class PinnedArrays
{
    private static readonly ConditionalWeakTable<float[], object> Known = new();
    private static readonly object Marker = new();
    private static readonly object ReusableMarker = new();

    /// <summary>A pinned, uninitialised array of <paramref name="length"/> floats.</summary>
    public static float[] Allocate(int length)
    {
        var array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        Known.AddOrUpdate(array, Marker);
        return array;
    }

    /// <summary>
    /// A pinned array that will hold batch after batch (a pooled input buffer, a batch kept by the caller): a GPU
    /// session page-locks it on its first use rather than its second, since the cost is paid back on the next call.
    /// </summary>
    public static float[] AllocateReusable(int length)
    {
        var array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        Known.AddOrUpdate(array, ReusableMarker);
        return array;
    }

    /// <summary>True when <paramref name="array"/> was allocated by <see cref="AllocateReusable"/>.</summary>
    public static bool IsReusable(float[] array) => Known.TryGetValue(array, out var marker) && ReferenceEquals(marker, ReusableMarker);

    /// <summary>True when <paramref name="memory"/> lies in an array allocated here; gives that array and the offset.</summary>
    public static bool TryGet(ReadOnlyMemory<float> memory, out float[] array, out int offset)
    {
        if (MemoryMarshal.TryGetArray(memory, out var segment) && segment.Array is { } a && Known.TryGetValue(a, out _))
        {
            array = a;
            offset = segment.Offset;
            return true;
        }
        array = Array.Empty<float>();
        offset = 0;
        return false;
    }
}
