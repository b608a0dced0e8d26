using System.Runtime.InteropServices;
using System.Text;

namespace HeteroBatch.Engine.Units.Cuda;

/// <summary>
/// Enumerates GPUs through the CUDA driver API (libcuda.so.1 / nvcuda.dll), which gives the same device
/// ordinals ONNX Runtime's device_id uses (CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER applied), and reads
/// the display driver version from NVML. Everything is loaded by name at run time: no package, and a
/// machine without the driver just reports no GPU.
/// </summary>
public sealed unsafe class CudaDriverApi : IGpuDriver
{
    private const int CUDA_SUCCESS = 0;
    private const int CUDA_ERROR_NO_DEVICE = 100;
    private const int AttrMultiprocessorCount = 16;
    private const int AttrPciBusId = 33;
    private const int AttrPciDeviceId = 34;
    private const int AttrPciDomainId = 50;
    private const int AttrComputeCapabilityMajor = 75;
    private const int AttrComputeCapabilityMinor = 76;

    public static string DriverLibraryName => OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
    public static string NvmlLibraryName => OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";

    public GpuDriverInfo? Probe()
    {
        if (!NativeLibrary.TryLoad(DriverLibraryName, out var cuda))
        {
            // No CUDA driver; NVML alone (a broken install) still tells the user a GPU is there.
            var nvmlOnly = NvmlReader.Read();
            if (nvmlOnly is null || nvmlOnly.Value.Devices.Count == 0) return null;
            return new GpuDriverInfo
            {
                Library = NvmlLibraryName,
                DriverVersion = nvmlOnly.Value.DriverVersion,
                Devices = nvmlOnly.Value.Devices,
                InitError = $"{DriverLibraryName} (the CUDA driver) could not be loaded although NVML lists GPUs; reinstall the NVIDIA driver.",
            };
        }

        // The driver library stays loaded: ONNX Runtime loads it again anyway for a CUDA session.
        var nvml = NvmlReader.Read();
        var cuInit = (delegate* unmanaged<uint, int>)Export(cuda, "cuInit");
        var cuDriverGetVersion = (delegate* unmanaged<int*, int>)Export(cuda, "cuDriverGetVersion");
        var cuDeviceGetCount = (delegate* unmanaged<int*, int>)Export(cuda, "cuDeviceGetCount");
        var cuDeviceGet = (delegate* unmanaged<int*, int, int>)Export(cuda, "cuDeviceGet");
        var cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Export(cuda, "cuDeviceGetName");
        var cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)Export(cuda, "cuDeviceTotalMem_v2");
        var cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)Export(cuda, "cuDeviceGetAttribute");
        if (cuInit == null || cuDeviceGetCount == null || cuDeviceGet == null || cuDeviceGetName == null
            || cuDeviceTotalMem == null || cuDeviceGetAttribute == null)
        {
            return new GpuDriverInfo
            {
                Library = DriverLibraryName,
                DriverVersion = nvml?.DriverVersion,
                Devices = nvml?.Devices ?? Array.Empty<GpuDeviceInfo>(),
                InitError = $"{DriverLibraryName} lacks the CUDA driver API entry points; the NVIDIA driver is too old or damaged.",
            };
        }

        int version = 0;
        if (cuDriverGetVersion != null) cuDriverGetVersion(&version);

        int rc = cuInit(0);
        if (rc == CUDA_ERROR_NO_DEVICE)
        {
            return new GpuDriverInfo { Library = DriverLibraryName, CudaDriverVersion = version, DriverVersion = nvml?.DriverVersion };
        }
        if (rc != CUDA_SUCCESS)
        {
            return new GpuDriverInfo
            {
                Library = DriverLibraryName,
                CudaDriverVersion = version,
                DriverVersion = nvml?.DriverVersion,
                Devices = nvml?.Devices ?? Array.Empty<GpuDeviceInfo>(),
                InitError = $"The CUDA driver failed to initialise (cuInit error {rc}{CudaErrorName(cuda, rc)}). Check that the NVIDIA kernel module matches the driver (nvidia-smi) and that this user may open /dev/nvidia*.",
            };
        }

        int count = 0;
        cuDeviceGetCount(&count);
        var devices = new List<GpuDeviceInfo>(count);
        var nameBuffer = stackalloc byte[256];
        for (int ordinal = 0; ordinal < count; ordinal++)
        {
            int device;
            if (cuDeviceGet(&device, ordinal) != CUDA_SUCCESS) continue;
            string name = cuDeviceGetName(nameBuffer, 256, device) == CUDA_SUCCESS
                ? Marshal.PtrToStringUTF8((IntPtr)nameBuffer) ?? "NVIDIA GPU" : "NVIDIA GPU";
            nuint memory = 0;
            cuDeviceTotalMem(&memory, device);
            int deviceHandle = device;
            int Attribute(int attribute) { int value = 0; return cuDeviceGetAttribute(&value, attribute, deviceHandle) == CUDA_SUCCESS ? value : -1; }
            int sms = Attribute(AttrMultiprocessorCount);
            int domain = Attribute(AttrPciDomainId), bus = Attribute(AttrPciBusId), slot = Attribute(AttrPciDeviceId);
            devices.Add(new GpuDeviceInfo(
                ordinal,
                name,
                (long)memory,
                sms > 0 ? sms : null,
                Math.Max(0, Attribute(AttrComputeCapabilityMajor)),
                Math.Max(0, Attribute(AttrComputeCapabilityMinor)),
                bus >= 0 ? $"{Math.Max(0, domain):x4}:{bus:x2}:{Math.Max(0, slot):x2}.0" : null));
        }

        return new GpuDriverInfo
        {
            Library = DriverLibraryName,
            CudaDriverVersion = version,
            DriverVersion = nvml?.DriverVersion,
            Devices = devices,
        };
    }

    private static IntPtr Export(IntPtr library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address) ? address : IntPtr.Zero;

    private static string CudaErrorName(IntPtr cuda, int rc)
    {
        var cuGetErrorName = (delegate* unmanaged<int, byte**, int>)Export(cuda, "cuGetErrorName");
        if (cuGetErrorName == null) return "";
        byte* text = null;
        return cuGetErrorName(rc, &text) == CUDA_SUCCESS && text != null ? ", " + Marshal.PtrToStringUTF8((IntPtr)text) : "";
    }

    /// <summary>NVML: driver version string, and a device list for when the CUDA driver will not start.</summary>
    private static class NvmlReader
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct NvmlMemory { public ulong Total, Free, Used; }

        public static (string? DriverVersion, IReadOnlyList<GpuDeviceInfo> Devices)? Read()
        {
            if (!NativeLibrary.TryLoad(NvmlLibraryName, out var nvml)) return null;
            var init = (delegate* unmanaged<int>)Export(nvml, "nvmlInit_v2");
            var shutdown = (delegate* unmanaged<int>)Export(nvml, "nvmlShutdown");
            var getDriverVersion = (delegate* unmanaged<byte*, uint, int>)Export(nvml, "nvmlSystemGetDriverVersion");
            var getCount = (delegate* unmanaged<uint*, int>)Export(nvml, "nvmlDeviceGetCount_v2");
            var getHandle = (delegate* unmanaged<uint, IntPtr*, int>)Export(nvml, "nvmlDeviceGetHandleByIndex_v2");
            var getName = (delegate* unmanaged<IntPtr, byte*, uint, int>)Export(nvml, "nvmlDeviceGetName");
            var getMemory = (delegate* unmanaged<IntPtr, NvmlMemory*, int>)Export(nvml, "nvmlDeviceGetMemoryInfo");
            var getCc = (delegate* unmanaged<IntPtr, int*, int*, int>)Export(nvml, "nvmlDeviceGetCudaComputeCapability");
            if (init == null || init() != 0) return null;
            try
            {
                string? driverVersion = null;
                var buffer = stackalloc byte[96];
                if (getDriverVersion != null && getDriverVersion(buffer, 96) == 0)
                    driverVersion = Marshal.PtrToStringUTF8((IntPtr)buffer);

                var devices = new List<GpuDeviceInfo>();
                uint count = 0;
                if (getCount != null && getHandle != null && getCount(&count) == 0)
                {
                    for (uint i = 0; i < count; i++)
                    {
                        IntPtr handle;
                        if (getHandle(i, &handle) != 0) continue;
                        string name = getName != null && getName(handle, buffer, 96) == 0
                            ? Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "NVIDIA GPU" : "NVIDIA GPU";
                        NvmlMemory memory = default;
                        if (getMemory != null) getMemory(handle, &memory);
                        int major = 0, minor = 0;
                        if (getCc != null) getCc(handle, &major, &minor);
                        devices.Add(new GpuDeviceInfo((int)i, name, (long)memory.Total, null, major, minor));
                    }
                }
                return (driverVersion, devices);
            }
            finally
            {
                if (shutdown != null) shutdown();
            }
        }
    }
}
