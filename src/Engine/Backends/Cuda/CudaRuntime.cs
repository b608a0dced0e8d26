using System.Runtime.InteropServices;

namespace HeteroBatch.Engine.Backends.Cuda;

/// <summary>A failed CUDA runtime call; the text follows ONNX Runtime's "CUDA failure N: ..." form.</summary>
public sealed class CudaRuntimeException : Exception
{
    public CudaRuntimeException(int code, string description, string call)
        : base($"CUDA failure {code}: {description} ; expr={call}")
    {
        Code = code;
    }

    /// <summary>cudaError_t value (2 = cudaErrorMemoryAllocation).</summary>
    public int Code { get; }
}

/// <summary>
/// The few CUDA runtime calls the CUDA session makes itself: page-locked host buffers, device buffers and
/// timed copies on its own stream. Bound at run time to the same libcudart ONNX Runtime's CUDA provider
/// loads (libcudart.so.13 / cudart64_13.dll), so both share the device's primary context.
/// </summary>
internal sealed unsafe class CudaRuntime
{
    public const int MemcpyHostToDevice = 1;
    public const int MemcpyDeviceToHost = 2;
    private const uint HostAllocPortable = 0x01;
    private const uint StreamNonBlocking = 0x01;
    public const int ErrorMemoryAllocation = 2;

    public static string LibraryName => OperatingSystem.IsWindows() ? "cudart64_13.dll" : "libcudart.so.13";

    private static readonly Lazy<CudaRuntime?> Shared = new(Load);

    private readonly delegate* unmanaged<int, int> _setDevice;
    private readonly delegate* unmanaged<IntPtr*, nuint, int> _malloc;
    private readonly delegate* unmanaged<IntPtr, int> _free;
    private readonly delegate* unmanaged<IntPtr*, nuint, uint, int> _hostAlloc;
    private readonly delegate* unmanaged<IntPtr, int> _freeHost;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, int> _memcpyAsync;
    private readonly delegate* unmanaged<IntPtr*, uint, int> _streamCreateWithFlags;
    private readonly delegate* unmanaged<IntPtr, int> _streamSynchronize;
    private readonly delegate* unmanaged<IntPtr, int> _streamDestroy;
    private readonly delegate* unmanaged<int> _deviceSynchronize;
    private readonly delegate* unmanaged<int, byte*> _getErrorString;
    private readonly delegate* unmanaged<IntPtr, nuint, uint, int> _hostRegister;
    private readonly delegate* unmanaged<IntPtr, int> _hostUnregister;
    private readonly delegate* unmanaged<IntPtr*, uint, int> _eventCreateWithFlags;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int> _eventRecord;
    private readonly delegate* unmanaged<IntPtr, int> _eventSynchronize;
    private readonly delegate* unmanaged<IntPtr, int> _eventDestroy;
    private readonly delegate* unmanaged<int> _getLastError;
    private const uint EventDisableTiming = 0x02;
    private const uint HostRegisterPortable = 0x01;

    private CudaRuntime(IntPtr library)
    {
        _setDevice = (delegate* unmanaged<int, int>)Require(library, "cudaSetDevice");
        _malloc = (delegate* unmanaged<IntPtr*, nuint, int>)Require(library, "cudaMalloc");
        _free = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaFree");
        _hostAlloc = (delegate* unmanaged<IntPtr*, nuint, uint, int>)Require(library, "cudaHostAlloc");
        _freeHost = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaFreeHost");
        _memcpyAsync = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, int>)Require(library, "cudaMemcpyAsync");
        _streamCreateWithFlags = (delegate* unmanaged<IntPtr*, uint, int>)Require(library, "cudaStreamCreateWithFlags");
        _streamSynchronize = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaStreamSynchronize");
        _streamDestroy = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaStreamDestroy");
        _deviceSynchronize = (delegate* unmanaged<int>)Require(library, "cudaDeviceSynchronize");
        _getErrorString = (delegate* unmanaged<int, byte*>)Require(library, "cudaGetErrorString");
        _hostRegister = (delegate* unmanaged<IntPtr, nuint, uint, int>)Require(library, "cudaHostRegister");
        _hostUnregister = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaHostUnregister");
        _eventCreateWithFlags = (delegate* unmanaged<IntPtr*, uint, int>)Require(library, "cudaEventCreateWithFlags");
        _eventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)Require(library, "cudaEventRecord");
        _eventSynchronize = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaEventSynchronize");
        _eventDestroy = (delegate* unmanaged<IntPtr, int>)Require(library, "cudaEventDestroy");
        _getLastError = (delegate* unmanaged<int>)Require(library, "cudaGetLastError");
    }

    /// <summary>
    /// Page-locks existing host memory so copies from and to it run as DMA at full bus speed. False when the
    /// driver refuses (e.g. the range is already registered); the memory then stays usable, only slower.
    /// </summary>
    public bool TryHostRegister(IntPtr pointer, long bytes)
    {
        if (_hostRegister(pointer, (nuint)bytes, HostRegisterPortable) == 0) return true;
        _getLastError(); // clear the sticky-free error so the next call does not report it
        return false;
    }

    public void HostUnregister(IntPtr pointer)
    {
        if (pointer != IntPtr.Zero && _hostUnregister(pointer) != 0) _getLastError();
    }

    public IntPtr CreateEvent()
    {
        IntPtr evt;
        Check(_eventCreateWithFlags(&evt, EventDisableTiming), "cudaEventCreateWithFlags");
        return evt;
    }

    public void RecordEvent(IntPtr evt, IntPtr stream) => Check(_eventRecord(evt, stream), "cudaEventRecord");

    public void SynchronizeEvent(IntPtr evt) => Check(_eventSynchronize(evt), "cudaEventSynchronize");

    public void DestroyEvent(IntPtr evt) { if (evt != IntPtr.Zero) _eventDestroy(evt); }

    /// <summary>The loaded runtime, or null when libcudart cannot be loaded.</summary>
    public static CudaRuntime? TryGet() => Shared.Value;

    /// <summary>The runtime when this process has already loaded it; null otherwise (loads nothing).</summary>
    public static CudaRuntime? LoadedOrNull() => Shared.IsValueCreated ? Shared.Value : null;

    private static CudaRuntime? Load()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out var library)) return null;
        try { return new CudaRuntime(library); }
        catch (EntryPointNotFoundException) { return null; }
    }

    private static IntPtr Require(IntPtr library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address) ? address
            : throw new EntryPointNotFoundException($"{LibraryName} has no {name}.");

    public void SetDevice(int device) => Check(_setDevice(device), $"cudaSetDevice({device})");

    public IntPtr Malloc(long bytes)
    {
        IntPtr pointer;
        Check(_malloc(&pointer, (nuint)bytes), $"cudaMalloc({bytes})");
        return pointer;
    }

    public void Free(IntPtr pointer) { if (pointer != IntPtr.Zero) _free(pointer); }

    /// <summary>Page-locked host memory, usable by every GPU (portable), so copies run at full PCIe/NVLink speed.</summary>
    public IntPtr HostAlloc(long bytes)
    {
        IntPtr pointer;
        Check(_hostAlloc(&pointer, (nuint)bytes, HostAllocPortable), $"cudaHostAlloc({bytes})");
        return pointer;
    }

    public void FreeHost(IntPtr pointer) { if (pointer != IntPtr.Zero) _freeHost(pointer); }

    public IntPtr CreateStream()
    {
        IntPtr stream;
        Check(_streamCreateWithFlags(&stream, StreamNonBlocking), "cudaStreamCreateWithFlags");
        return stream;
    }

    public void DestroyStream(IntPtr stream) { if (stream != IntPtr.Zero) _streamDestroy(stream); }

    public void MemcpyAsync(IntPtr destination, IntPtr source, long bytes, int kind, IntPtr stream) =>
        Check(_memcpyAsync(destination, source, (nuint)bytes, kind, stream), kind == MemcpyHostToDevice ? "cudaMemcpyAsync(H2D)" : "cudaMemcpyAsync(D2H)");

    public void StreamSynchronize(IntPtr stream) => Check(_streamSynchronize(stream), "cudaStreamSynchronize");

    public void DeviceSynchronize() => Check(_deviceSynchronize(), "cudaDeviceSynchronize");

    private void Check(int code, string call)
    {
        if (code == 0) return;
        var text = _getErrorString(code);
        throw new CudaRuntimeException(code, text == null ? "unknown error" : Marshal.PtrToStringUTF8((IntPtr)text) ?? "unknown error", call);
    }
}
