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

    /// <summary>A pinned, uninitialised array of <paramref name="length"/> floats.</summary>
    public static float[] Allocate(int length)
    {
        var array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        Known.AddOrUpdate(array, Marker);
        return array;
    }

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
