namespace HeteroBatch.Engine.Units.Cuda;

/// <summary>One GPU as the NVIDIA driver reports it. <see cref="Ordinal"/> is the CUDA device id.</summary>
public sealed record GpuDeviceInfo(
    int Ordinal,
    string Name,
    long MemoryBytes,
    int? Multiprocessors,
    int ComputeCapabilityMajor,
    int ComputeCapabilityMinor,
    string? PciBusId = null)
{
    public string ComputeCapability => $"{ComputeCapabilityMajor}.{ComputeCapabilityMinor}";
}

/// <summary>
/// What the NVIDIA driver says: its version, the CUDA version it supports and its GPUs. When the driver
/// library loads but cannot initialise, <see cref="InitError"/> says why and <see cref="Devices"/> holds
/// what NVML could still list.
/// </summary>
public sealed record GpuDriverInfo
{
    /// <summary>The driver library that answered (libcuda.so.1, nvcuda.dll).</summary>
    public required string Library { get; init; }
    /// <summary>CUDA version the driver supports, as cuDriverGetVersion returns it (13000 = 13.0); 0 if unknown.</summary>
    public int CudaDriverVersion { get; init; }
    /// <summary>Display driver version (580.159.04) from NVML; null when NVML is missing.</summary>
    public string? DriverVersion { get; init; }
    public IReadOnlyList<GpuDeviceInfo> Devices { get; init; } = Array.Empty<GpuDeviceInfo>();
    public string? InitError { get; init; }

    /// <summary>Major.minor text of <see cref="CudaDriverVersion"/>.</summary>
    public string CudaVersionText => CudaDriverVersion > 0 ? $"{CudaDriverVersion / 1000}.{CudaDriverVersion % 1000 / 10}" : "unknown";
}

/// <summary>The NVIDIA driver seen from the engine; injectable so discovery is testable without a GPU.</summary>
public interface IGpuDriver
{
    /// <summary>Null when no NVIDIA driver is installed (a normal case: the machine has no GPU).</summary>
    GpuDriverInfo? Probe();
}
