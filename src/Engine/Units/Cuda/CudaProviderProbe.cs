using System.Runtime.InteropServices;

namespace HeteroBatch.Engine.Units.Cuda;

/// <summary>One library ONNX Runtime's CUDA provider needs at run time.</summary>
/// <param name="FileName">Name the loader looks for (libcublas.so.13, cublas64_13.dll).</param>
/// <param name="Component">What it is, for messages (cuBLAS 13).</param>
/// <param name="InstallHint">What to install to get it.</param>
/// <param name="Required">False for libraries only some operators use (cuFFT): their absence is a warning.</param>
public sealed record CudaLibraryRequirement(string FileName, string Component, string InstallHint, bool Required = true);

/// <summary>Whether ONNX Runtime's CUDA provider can load on this machine, and if not, what to do.</summary>
public sealed record CudaProviderStatus
{
    public bool Usable => Reason is null;
    /// <summary>Why the provider cannot load and how to fix it; null when it can.</summary>
    public string? Reason { get; init; }
    public IReadOnlyList<string> MissingLibraries { get; init; } = Array.Empty<string>();
    /// <summary>Optional libraries that are missing (their operators fail; most models do not use them).</summary>
    public IReadOnlyList<string> MissingOptionalLibraries { get; init; } = Array.Empty<string>();
}

/// <summary>
/// Checks the libraries the ONNX Runtime 1.31 CUDA provider (a CUDA 13 build) loads. The list was read
/// from the provider binary: DT_NEEDED entries libcudart.so.13, libcublas.so.13, libcublasLt.so.13,
/// libcurand.so.10, libcuda.so.1; loaded later with dlopen: libcudnn.so.9 (convolutions and most CNN
/// operators), libcufft.so.12 (FFT operators only) and libnvrtc.so.13 (a few fused attention kernels).
/// </summary>
public sealed class CudaProviderProbe
{
    private readonly INativeLibraryLoader _loader;
    private readonly Lazy<string?> _ortNativeDirectory;
    private readonly bool _windows;

    /// <param name="loader">How libraries are looked up.</param>
    /// <param name="ortNativeDirectory">Folder of libonnxruntime; null to locate it, "" to skip that check.</param>
    /// <param name="windows">Which OS's library names to check; null for the current OS.</param>
    public CudaProviderProbe(INativeLibraryLoader? loader = null, string? ortNativeDirectory = null, bool? windows = null)
    {
        _loader = loader ?? SystemNativeLibraryLoader.Instance;
        _windows = windows ?? OperatingSystem.IsWindows();
        bool windowsNames = _windows;
        // Located on first Check, so constructing a probe on a machine without GPUs costs nothing.
        _ortNativeDirectory = new Lazy<string?>(() => ortNativeDirectory ?? LocateOrtNativeDirectory(windowsNames));
    }

    public static CudaProviderProbe Default { get; } = new();

    public string ProviderLibraryName => _windows ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";

    /// <summary>The libraries of the CUDA provider on this OS, the driver excluded (discovery checks it first).</summary>
    public IReadOnlyList<CudaLibraryRequirement> Requirements => _windows ? WindowsRequirements : LinuxRequirements;

    private static readonly CudaLibraryRequirement[] LinuxRequirements =
    {
        new("libcudart.so.13", "CUDA 13 runtime", "the CUDA 13 toolkit or its runtime (apt: cuda-cudart-13-0; pip: nvidia-cuda-runtime 13.x)"),
        new("libcublasLt.so.13", "cuBLASLt 13", "cuBLAS for CUDA 13 (apt: libcublas-13-0; pip: nvidia-cublas 13.x)"),
        new("libcublas.so.13", "cuBLAS 13", "cuBLAS for CUDA 13 (apt: libcublas-13-0; pip: nvidia-cublas 13.x)"),
        new("libcurand.so.10", "cuRAND", "cuRAND for CUDA 13 (apt: libcurand-13-0; pip: nvidia-curand 10.x)"),
        new("libcudnn.so.9", "cuDNN 9", "cuDNN 9 for CUDA 13 (apt: libcudnn9-cuda-13; pip: nvidia-cudnn-cu13)"),
        new("libcufft.so.12", "cuFFT", "cuFFT for CUDA 13 (apt: libcufft-13-0; pip: nvidia-cufft 12.x)", Required: false),
    };

    private static readonly CudaLibraryRequirement[] WindowsRequirements =
    {
        new("cudart64_13.dll", "CUDA 13 runtime", "the CUDA 13 toolkit (https://developer.nvidia.com/cuda-downloads)"),
        new("cublasLt64_13.dll", "cuBLASLt 13", "the CUDA 13 toolkit (cuBLAS)"),
        new("cublas64_13.dll", "cuBLAS 13", "the CUDA 13 toolkit (cuBLAS)"),
        new("curand64_10.dll", "cuRAND", "the CUDA 13 toolkit (cuRAND)"),
        new("cudnn64_9.dll", "cuDNN 9", "cuDNN 9 for CUDA 13 (https://developer.nvidia.com/cudnn)"),
        new("cufft64_12.dll", "cuFFT", "the CUDA 13 toolkit (cuFFT)", Required: false),
    };

    public CudaProviderStatus Check()
    {
        var problems = new List<string>();
        var missing = new List<string>();
        var missingOptional = new List<string>();

        var ortDirectory = _ortNativeDirectory.Value;
        if (!string.IsNullOrEmpty(ortDirectory))
        {
            var providerPath = Path.Combine(ortDirectory, ProviderLibraryName);
            if (!_loader.FileExists(providerPath))
            {
                missing.Add(ProviderLibraryName);
                problems.Add($"{ProviderLibraryName} is not beside ONNX Runtime in {ortDirectory}: this build carries the CPU-only ONNX Runtime. Use a build with Microsoft.ML.OnnxRuntime.Gpu 1.31.0.");
            }
        }

        var notFound = new List<CudaLibraryRequirement>();
        var offPath = new List<(CudaLibraryRequirement Requirement, string Folder)>();
        foreach (var requirement in Requirements)
        {
            if (_loader.CanLoad(requirement.FileName)) continue;
            if (!requirement.Required)
            {
                missingOptional.Add(requirement.FileName);
                continue;
            }
            missing.Add(requirement.FileName);
            if (_loader.FindOnDisk(requirement.FileName) is string folder) offPath.Add((requirement, folder));
            else notFound.Add(requirement);
        }

        string variable = _windows ? "PATH" : "LD_LIBRARY_PATH";
        foreach (var group in offPath.GroupBy(p => p.Folder))
        {
            var names = string.Join(", ", group.Select(p => $"{p.Requirement.FileName} ({p.Requirement.Component})"));
            problems.Add($"{names} {(group.Count() == 1 ? "is" : "are")} in {group.Key} but not on the loader's search path: add {group.Key} to {variable} before starting PowerShell"
                + (_windows ? "." : " (or register it with ldconfig)."));
        }
        if (notFound.Count > 0)
        {
            var names = string.Join(", ", notFound.Select(r => $"{r.FileName} ({r.Component})"));
            var installs = string.Join("; ", notFound.Select(r => r.InstallHint).Distinct());
            problems.Add($"Not found: {names}. Install {installs}; then add the folder that holds them (e.g. {ExampleFolder}) to {variable} before starting PowerShell.");
        }

        return new CudaProviderStatus
        {
            Reason = problems.Count == 0 ? null
                : "ONNX Runtime's CUDA provider cannot load. " + string.Join(" ", problems),
            MissingLibraries = missing,
            MissingOptionalLibraries = missingOptional,
        };
    }

    private string ExampleFolder => _windows
        ? @"%CUDA_PATH%\bin\x64"
        : "/usr/local/cuda-13.0/targets/" + (RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "sbsa-linux" : "x86_64-linux") + "/lib";

    /// <summary>
    /// The folder ONNX Runtime's own library is in: the provider library must sit beside it. Null when it
    /// cannot be told (then that check is skipped rather than guessed).
    /// </summary>
    private static string? LocateOrtNativeDirectory(bool windows)
    {
        string fileName = windows ? "onnxruntime.dll" : "libonnxruntime.so";
        // Once ONNX Runtime is loaded, the process map says exactly which copy it is; load it now (GPUs
        // exist, so a CUDA session is likely to follow anyway).
        try { Microsoft.ML.OnnxRuntime.OrtEnv.Instance(); }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException) { }
        if (!windows && File.Exists("/proc/self/maps"))
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/maps"))
                {
                    int slash = line.IndexOf('/');
                    if (slash < 0 || !line.EndsWith("/" + fileName, StringComparison.Ordinal)) continue;
                    return Path.GetDirectoryName(line[slash..]);
                }
            }
            catch (IOException) { }
        }

        string rid = (windows ? "win-" : "linux-") + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var engineDirectory = Path.GetDirectoryName(typeof(CudaProviderProbe).Assembly.Location);
        foreach (var baseDirectory in new[] { engineDirectory, AppContext.BaseDirectory })
        {
            if (string.IsNullOrEmpty(baseDirectory)) continue;
            foreach (var candidate in new[] { baseDirectory, Path.Combine(baseDirectory, "runtimes", rid, "native") })
                if (File.Exists(Path.Combine(candidate, fileName))) return candidate;
        }
        return null;
    }
}
