using System.Runtime.InteropServices;

namespace HeteroBatch.Engine.Units.Cuda;

/// <summary>
/// How the engine asks whether a shared library can be loaded, and where it lies on disk if it cannot.
/// Injectable so the CUDA dependency checks are testable on a machine without CUDA.
/// </summary>
public interface INativeLibraryLoader
{
    /// <summary>True when the OS loader finds <paramref name="fileName"/> (e.g. libcublas.so.13) on its search path.</summary>
    bool CanLoad(string fileName);

    /// <summary>A folder outside the loader's search path that holds <paramref name="fileName"/>, if any.</summary>
    string? FindOnDisk(string fileName);

    /// <summary>Whether a file exists (the ONNX Runtime provider library beside libonnxruntime).</summary>
    bool FileExists(string path);
}

/// <summary>The real loader: dlopen/LoadLibrary through <see cref="NativeLibrary"/>, plus the usual CUDA folders.</summary>
public sealed class SystemNativeLibraryLoader : INativeLibraryLoader
{
    public static SystemNativeLibraryLoader Instance { get; } = new();

    public bool CanLoad(string fileName)
    {
        // A successful probe stays loaded on purpose: ONNX Runtime needs the same library moments later,
        // and unloading CUDA libraries is not safe.
        return NativeLibrary.TryLoad(fileName, out _);
    }

    public bool FileExists(string path) => File.Exists(path);

    public string? FindOnDisk(string fileName)
    {
        foreach (var folder in CandidateFolders())
        {
            try
            {
                if (File.Exists(Path.Combine(folder, fileName))) return folder;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        return null;
    }

    /// <summary>Where CUDA 13, cuDNN 9 and the pip "nvidia-*" wheels usually install their libraries.</summary>
    private static IEnumerable<string> CandidateFolders()
    {
        if (OperatingSystem.IsWindows())
        {
            var cudaPath = Environment.GetEnvironmentVariable("CUDA_PATH");
            if (!string.IsNullOrEmpty(cudaPath))
            {
                yield return Path.Combine(cudaPath, "bin", "x64");
                yield return Path.Combine(cudaPath, "bin");
            }
            var programFiles = Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles);
            foreach (var dir in SafeDirectories(Path.Combine(programFiles, "NVIDIA GPU Computing Toolkit", "CUDA"), "v13*"))
            {
                yield return Path.Combine(dir, "bin", "x64");
                yield return Path.Combine(dir, "bin");
            }
            foreach (var dir in SafeDirectories(Path.Combine(programFiles, "NVIDIA", "CUDNN"), "v9*"))
                foreach (var bin in SafeDirectories(Path.Combine(dir, "bin"), "13*"))
                    yield return Path.Combine(bin, "x64");
            yield break;
        }

        string target = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "sbsa-linux" : "x86_64-linux";
        string multiarch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
        var roots = new List<string> { "/usr/local/cuda" };
        roots.AddRange(SafeDirectories("/usr/local", "cuda-13*").OrderDescending());
        foreach (var root in roots)
        {
            yield return Path.Combine(root, "targets", target, "lib");
            yield return Path.Combine(root, "lib64");
        }
        yield return "/usr/lib/" + multiarch;
        yield return "/usr/lib64";
        yield return "/opt/nvidia/cudnn/lib";
        // pip wheels (nvidia-cublas, nvidia-cudnn-cu13...) in system Pythons and virtual environments.
        foreach (var sitePackages in PythonSitePackages())
            foreach (var component in SafeDirectories(Path.Combine(sitePackages, "nvidia"), "*"))
            {
                yield return Path.Combine(component, "lib");
                foreach (var nested in SafeDirectories(component, "*")) yield return Path.Combine(nested, "lib");
            }
    }

    private static IEnumerable<string> PythonSitePackages()
    {
        var bases = new List<string> { "/usr/lib", "/usr/local/lib" };
        var virtualEnv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        if (!string.IsNullOrEmpty(virtualEnv)) bases.Add(Path.Combine(virtualEnv, "lib"));
        foreach (var opt in SafeDirectories("/opt", "*")) bases.Add(Path.Combine(opt, ".venv", "lib"));
        foreach (var b in bases)
            foreach (var python in SafeDirectories(b, "python3*"))
            {
                yield return Path.Combine(python, "site-packages");
                yield return Path.Combine(python, "dist-packages");
            }
    }

    private static IEnumerable<string> SafeDirectories(string folder, string pattern)
    {
        try
        {
            return Directory.Exists(folder) ? Directory.GetDirectories(folder, pattern) : Array.Empty<string>();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }
}
