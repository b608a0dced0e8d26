
namespace HeteroBatch.Engine.Units.Cuda;

/// <summary>
/// NVIDIA GPUs as units <c>gpu0</c>, <c>gpu1</c>... (CUDA ordinals). A GPU that ONNX Runtime's CUDA
/// provider cannot use (missing CUDA 13 library, old driver, unsupported architecture) is still listed,
/// with Available = false and a Reason that says what to install or set.
/// </summary>
public sealed class CudaUnitProvider : IComputeUnitProvider
{
    /// <summary>ONNX Runtime 1.31 GPU is built with CUDA 13.0: the driver must support it (R580+).</summary>
    public const int RequiredCudaDriverVersion = 13000;
    /// <summary>CUDA 13 dropped Maxwell, Pascal and Volta: Turing (7.5) is the oldest architecture it targets.</summary>
    public static readonly Version MinimumComputeCapability = new(7, 5);

    private readonly IGpuDriver _driver;
    private readonly CudaProviderProbe _probe;

    public CudaUnitProvider(IGpuDriver? driver = null, CudaProviderProbe? probe = null)
    {
        _driver = driver ?? new CudaDriverApi();
        _probe = probe ?? CudaProviderProbe.Default;
    }

    public string Family => "cuda";

    public IReadOnlyList<ComputeUnit> Discover()
    {
        var driver = _driver.Probe();
        if (driver is null || driver.Devices.Count == 0) return Array.Empty<ComputeUnit>();

        // The provider libraries are the same for every GPU: check them once, and only when GPUs exist.
        var provider = driver.InitError is null ? _probe.Check() : null;
        string driverText = driver.DriverVersion is null
            ? $"CUDA {driver.CudaVersionText}"
            : $"{driver.DriverVersion} (CUDA {driver.CudaVersionText})";

        var units = new List<ComputeUnit>(driver.Devices.Count);
        foreach (var device in driver.Devices)
        {
            string? reason = driver.InitError
                ?? DriverTooOld(driver)
                ?? ArchitectureUnsupported(device)
                ?? provider?.Reason;
            units.Add(new ComputeUnit
            {
                Id = "gpu" + device.Ordinal,
                Kind = ComputeUnitKind.Gpu,
                Backend = UnitBackends.OrtCuda,
                Name = device.Name,
                DeviceIndex = device.Ordinal,
                MemoryBytes = device.MemoryBytes,
                Multiprocessors = device.Multiprocessors,
                ComputeCapability = device.ComputeCapability,
                DriverVersion = driverText,
                Features = CapabilityFeatures(device),
                Available = reason is null,
                Reason = reason,
            });
        }
        return units;
    }

    private static string? DriverTooOld(GpuDriverInfo driver)
    {
        if (driver.CudaDriverVersion <= 0 || driver.CudaDriverVersion >= RequiredCudaDriverVersion) return null;
        string which = driver.DriverVersion is null ? "The NVIDIA driver" : $"The NVIDIA driver {driver.DriverVersion}";
        return $"{which} supports CUDA {driver.CudaVersionText}; ONNX Runtime 1.31's CUDA provider is a CUDA 13 build and needs a driver for CUDA 13 (R580 or newer). Update the NVIDIA driver.";
    }

    private static string? ArchitectureUnsupported(GpuDeviceInfo device)
    {
        if (device.ComputeCapabilityMajor == 0) return null; // unknown: let the provider decide
        var cc = new Version(device.ComputeCapabilityMajor, device.ComputeCapabilityMinor);
        return cc < MinimumComputeCapability
            ? $"{device.Name} has compute capability {device.ComputeCapability}; CUDA 13 (used by ONNX Runtime 1.31's CUDA provider) supports {MinimumComputeCapability} (Turing) and newer only."
            : null;
    }

    private static string[] CapabilityFeatures(GpuDeviceInfo device)
    {
        var features = new List<string> { "CC" + device.ComputeCapability, "FP16" };
        int cc = device.ComputeCapabilityMajor * 10 + device.ComputeCapabilityMinor;
        if (cc >= 70) features.Add("TensorCores");
        if (cc >= 80) { features.Add("TF32"); features.Add("BF16"); }
        if (cc >= 89) features.Add("FP8");
        return features.ToArray();
    }
}
