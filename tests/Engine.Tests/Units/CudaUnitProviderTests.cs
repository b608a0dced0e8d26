using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Units.Cuda;
using Xunit;

namespace HeteroBatch.Engine.Tests.Units;

public class CudaUnitProviderTests
{
    private const string OrtDir = "/opt/app/runtimes/linux-x64/native";

    private static readonly GpuDriverInfo TwoH100 = new()
    {
        Library = "libcuda.so.1",
        CudaDriverVersion = 13000,
        DriverVersion = "580.159.04",
        Devices = new[]
        {
            new GpuDeviceInfo(0, "NVIDIA H100 80GB HBM3", 85_520_809_984, 132, 9, 0, "0000:1b:00.0"),
            new GpuDeviceInfo(1, "NVIDIA H100 80GB HBM3", 85_520_809_984, 132, 9, 0, "0000:43:00.0"),
        },
    };

    private static CudaUnitProvider Provider(GpuDriverInfo? driver, FakeLoader loader, bool windows = false) =>
        new(new FakeDriver(driver), new CudaProviderProbe(loader, OrtDir, windows));

    private static FakeLoader AllPresent() => new FakeLoader()
        .With("libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudnn.so.9", "libcufft.so.12")
        .WithFile(Path.Combine(OrtDir, "libonnxruntime_providers_cuda.so"));

    [Fact]
    public void No_driver_means_no_gpu_units_and_no_probing()
    {
        var loader = new FakeLoader();
        Assert.Empty(Provider(null, loader).Discover());
        Assert.Empty(loader.Asked);
    }

    [Fact]
    public void Driver_without_devices_means_no_gpu_units()
    {
        Assert.Empty(Provider(TwoH100 with { Devices = Array.Empty<GpuDeviceInfo>() }, AllPresent()).Discover());
    }

    [Fact]
    public void All_libraries_present_gives_available_gpus_with_driver_facts()
    {
        var units = Provider(TwoH100, AllPresent()).Discover();
        Assert.Equal(new[] { "gpu0", "gpu1" }, units.Select(u => u.Id));
        Assert.All(units, u =>
        {
            Assert.True(u.Available, u.Reason);
            Assert.Null(u.Reason);
            Assert.Equal(ComputeUnitKind.Gpu, u.Kind);
            Assert.Equal(BackendNames.OrtCuda, u.Backend);
            Assert.Equal("NVIDIA H100 80GB HBM3", u.Name);
            Assert.Equal(132, u.Multiprocessors);
            Assert.Equal("9.0", u.ComputeCapability);
            Assert.Equal("580.159.04 (CUDA 13.0)", u.DriverVersion);
            Assert.Equal(85_520_809_984, u.MemoryBytes);
            Assert.Contains("BF16", u.Features);
        });
        Assert.Equal(new[] { 0, 1 }, units.Select(u => u.DeviceIndex));
    }

    [Fact]
    public void Two_gpus_with_cublas_missing_are_unavailable_with_a_reason_naming_cublas_and_what_to_install()
    {
        var loader = AllPresent().Without("libcublas.so.13", "libcublasLt.so.13");
        var units = Provider(TwoH100, loader).Discover();
        Assert.Equal(2, units.Count);
        Assert.All(units, u =>
        {
            Assert.False(u.Available);
            Assert.Contains("libcublas.so.13", u.Reason);
            Assert.Contains("libcublasLt.so.13", u.Reason);
            Assert.Contains("libcublas-13-0", u.Reason);
            Assert.Contains("LD_LIBRARY_PATH", u.Reason);
            Assert.Contains("/usr/local/cuda-13.0/targets/x86_64-linux/lib", u.Reason);
            Assert.DoesNotContain("libcudnn", u.Reason);
        });
    }

    [Fact]
    public void A_library_on_disk_but_off_the_search_path_names_the_folder_to_add()
    {
        var loader = AllPresent().Without("libcudnn.so.9").OnDisk("libcudnn.so.9", "/opt/cudnn9/lib");
        var gpu = Provider(TwoH100, loader).Discover()[0];
        Assert.False(gpu.Available);
        Assert.Contains("libcudnn.so.9", gpu.Reason);
        Assert.Contains("add /opt/cudnn9/lib to LD_LIBRARY_PATH", gpu.Reason);
    }

    [Fact]
    public void Missing_cufft_only_is_a_warning_not_a_blocker()
    {
        var probe = new CudaProviderProbe(AllPresent().Without("libcufft.so.12"), OrtDir, windows: false);
        var status = probe.Check();
        Assert.True(status.Usable);
        Assert.Equal(new[] { "libcufft.so.12" }, status.MissingOptionalLibraries);
        Assert.True(Provider(TwoH100, AllPresent().Without("libcufft.so.12")).Discover().All(u => u.Available));
    }

    [Fact]
    public void Cpu_only_onnxruntime_build_is_reported()
    {
        var loader = AllPresent();
        loader.Files.Clear();
        var gpu = Provider(TwoH100, loader).Discover()[0];
        Assert.False(gpu.Available);
        Assert.Contains("libonnxruntime_providers_cuda.so", gpu.Reason);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", gpu.Reason);
    }

    [Fact]
    public void Old_driver_and_old_architecture_are_unavailable_with_reasons()
    {
        var oldDriver = Provider(TwoH100 with { CudaDriverVersion = 12040, DriverVersion = "550.54" }, AllPresent()).Discover()[0];
        Assert.False(oldDriver.Available);
        Assert.Contains("CUDA 12.4", oldDriver.Reason);
        Assert.Contains("R580", oldDriver.Reason);

        var volta = TwoH100 with { Devices = new[] { new GpuDeviceInfo(0, "Tesla V100-SXM2-16GB", 16L << 30, 80, 7, 0) } };
        var unit = Provider(volta, AllPresent()).Discover()[0];
        Assert.False(unit.Available);
        Assert.Contains("7.0", unit.Reason);
        Assert.Contains("7.5", unit.Reason);
    }

    [Fact]
    public void Driver_init_failure_lists_the_gpus_as_unavailable()
    {
        var broken = TwoH100 with { InitError = "The CUDA driver failed to initialise (cuInit error 999)." };
        var units = Provider(broken, AllPresent()).Discover();
        Assert.Equal(2, units.Count);
        Assert.All(units, u => Assert.Contains("cuInit error 999", u.Reason));
    }

    [Fact]
    public void Windows_names_are_checked_on_windows()
    {
        var loader = new FakeLoader()
            .With("cudart64_13.dll", "cublasLt64_13.dll", "curand64_10.dll", "cudnn64_9.dll", "cufft64_12.dll")
            .WithFile(Path.Combine(OrtDir, "onnxruntime_providers_cuda.dll"));
        var status = new CudaProviderProbe(loader, OrtDir, windows: true).Check();
        Assert.False(status.Usable);
        Assert.Equal(new[] { "cublas64_13.dll" }, status.MissingLibraries);
        Assert.Contains("PATH", status.Reason);
    }

    [Fact]
    public void The_real_probe_on_this_machine_gives_a_consistent_answer()
    {
        // Runs everywhere: on a CPU-only machine it must report what is missing, on a CUDA 13 machine nothing.
        var status = CudaProviderProbe.Default.Check();
        Assert.Equal(status.Usable, status.MissingLibraries.Count == 0);
        if (!status.Usable) Assert.Contains(status.MissingLibraries[0], status.Reason);
        // This build carries Microsoft.ML.OnnxRuntime.Gpu: the provider library sits beside libonnxruntime.
        Assert.DoesNotContain(CudaProviderProbe.Default.ProviderLibraryName, status.MissingLibraries);
    }

    private sealed class FakeDriver(GpuDriverInfo? info) : IGpuDriver
    {
        public GpuDriverInfo? Probe() => info;
    }

    private sealed class FakeLoader : INativeLibraryLoader
    {
        private readonly HashSet<string> _loadable = new();
        private readonly Dictionary<string, string> _onDisk = new();
        public HashSet<string> Files { get; } = new();
        public List<string> Asked { get; } = new();

        public FakeLoader With(params string[] names) { _loadable.UnionWith(names); return this; }
        public FakeLoader Without(params string[] names) { _loadable.ExceptWith(names); return this; }
        public FakeLoader OnDisk(string name, string folder) { _onDisk[name] = folder; return this; }
        public FakeLoader WithFile(string path) { Files.Add(path); return this; }

        public bool CanLoad(string fileName) { Asked.Add(fileName); return _loadable.Contains(fileName); }
        public string? FindOnDisk(string fileName) => _onDisk.GetValueOrDefault(fileName);
        public bool FileExists(string path) => Files.Contains(path);
    }
}
