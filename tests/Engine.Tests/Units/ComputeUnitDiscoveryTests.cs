using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Units.OpenVino;
using Xunit;

namespace HeteroBatch.Engine.Tests.Units;

public class ComputeUnitDiscoveryTests
{
    [Fact]
    public void Discover_lists_the_cpu_with_cores_memory_and_a_name()
    {
        var units = ComputeUnitDiscovery.Discover();
        var cpu = Assert.Single(units, u => u.Id == "cpu");
        Assert.Equal(ComputeUnitKind.Cpu, cpu.Kind);
        Assert.Equal(BackendNames.OrtCpu, cpu.Backend);
        Assert.False(string.IsNullOrWhiteSpace(cpu.Name));
        Assert.True(cpu.PhysicalCores > 0);
        Assert.True(cpu.LogicalCores > 0);
        Assert.True(cpu.MemoryBytes > 0);
        Assert.True(cpu.Available);
        Assert.Null(cpu.Reason);
        Assert.Equal(Environment.MachineName, cpu.MachineName);
        Assert.Equal("cpu", units[0].Id);
    }

    [Fact]
    public void Discover_is_cached_until_refresh()
    {
        var counting = new CountingProvider();
        var catalog = new ComputeUnitCatalog(new IComputeUnitProvider[] { counting });
        var first = catalog.Discover();
        var second = catalog.Discover();
        Assert.Same(first, second);
        Assert.Equal(1, counting.Calls);
        catalog.Discover(refresh: true);
        Assert.Equal(2, counting.Calls);
    }

    [Fact]
    public void Find_is_case_insensitive_and_unknown_ids_are_UnitNotFound_listing_the_present_ids()
    {
        Assert.Equal("cpu", ComputeUnitDiscovery.Find("CPU").Id);
        var error = Assert.Throws<HeteroBatchException>(() => ComputeUnitDiscovery.Find("gpu7"));
        Assert.Equal("UnitNotFound", error.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, error.Kind);
        Assert.Equal("gpu7", error.Target);
        Assert.Contains("cpu", error.Message);
    }

    [Fact]
    public void Discover_filters_by_kind()
    {
        var catalog = new ComputeUnitCatalog(new IComputeUnitProvider[] { new CpuUnitProvider(), new CountingProvider() });
        Assert.All(catalog.Discover(ComputeUnitKind.Cpu), u => Assert.Equal(ComputeUnitKind.Cpu, u.Kind));
        Assert.Equal(new[] { "gpu0" }, catalog.Discover(ComputeUnitKind.Gpu).Select(u => u.Id));
    }

    [Fact]
    public void A_broken_provider_does_not_hide_the_cpu()
    {
        var catalog = new ComputeUnitCatalog(new IComputeUnitProvider[] { new CpuUnitProvider(), new ThrowingProvider() });
        Assert.Equal(new[] { "cpu" }, catalog.Discover().Select(u => u.Id));
        // The failure is kept for the caller to tell (the engine writes nowhere itself), and cleared by a good probe.
        Assert.Equal("broken discovery failed: driver exploded", Assert.Single(catalog.ProbeFailures));
        var healthy = new ComputeUnitCatalog(new IComputeUnitProvider[] { new CpuUnitProvider() });
        healthy.Discover();
        Assert.Empty(healthy.ProbeFailures);
    }

    [SkippableFact]
    public void Without_an_NVIDIA_driver_there_are_no_gpu_units_and_no_error()
    {
        Skip.If(File.Exists("/proc/driver/nvidia/version") || File.Exists("/dev/nvidiactl"),
            "This machine has an NVIDIA driver; the no-driver case is covered by the injected-driver tests.");
        Assert.Null(new Engine.Units.Cuda.CudaDriverApi().Probe());
        Assert.Empty(ComputeUnitDiscovery.Discover(ComputeUnitKind.Gpu));
    }

    [Fact]
    public void OpenVino_lists_nothing_without_its_runtime_and_an_unavailable_unit_with_it()
    {
        Assert.Empty(new OpenVinoUnitProvider(new FixedLocator(false)).Discover());
        var unit = Assert.Single(new OpenVinoUnitProvider(new FixedLocator(true)).Discover());
        Assert.False(unit.Available);
        Assert.Equal(BackendNames.OpenVino, unit.Backend);
        Assert.Contains("OpenVINO.CSharp.API", unit.Reason);
    }

    [Fact]
    public void OpenVino_unit_with_a_runtime_says_the_backend_is_not_built_not_that_the_runtime_is_missing()
    {
        var unit = Assert.Single(new OpenVinoUnitProvider(new FixedLocator(true)).Discover());
        Assert.Contains("runtime is installed", unit.Reason);
        Assert.Contains("no OpenVINO backend", unit.Reason);
        Assert.DoesNotContain("not found", unit.Reason, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class FixedLocator(bool present) : IOpenVinoRuntimeLocator
    {
        public bool IsRuntimePresent() => present;
    }

    private sealed class CountingProvider : IComputeUnitProvider
    {
        public int Calls;
        public string Family => "counting";
        public IReadOnlyList<ComputeUnit> Discover()
        {
            Calls++;
            return new[] { new ComputeUnit { Id = "gpu0", Kind = ComputeUnitKind.Gpu, Backend = BackendNames.OrtCuda, Name = "test" } };
        }
    }

    private sealed class ThrowingProvider : IComputeUnitProvider
    {
        public string Family => "broken";
        public IReadOnlyList<ComputeUnit> Discover() => throw new InvalidOperationException("driver exploded");
    }
}
