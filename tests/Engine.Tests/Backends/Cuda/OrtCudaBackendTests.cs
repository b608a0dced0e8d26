using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Backends.Cuda;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Units.Cuda;
using Xunit;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Backends.Cuda;

/// <summary>The CUDA backend's checks and option parsing; these run on any machine.</summary>
public class OrtCudaBackendTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public OrtCudaBackendTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    private static ComputeUnit Gpu(bool available, string? reason = null) => new()
    {
        Id = "gpu0", Kind = ComputeUnitKind.Gpu, Backend = BackendNames.OrtCuda, Name = "NVIDIA H100 80GB HBM3",
        DeviceIndex = 0, Available = available, Reason = reason,
    };

    [Fact]
    public void An_unavailable_gpu_is_CudaProviderUnavailable_with_the_discovery_reason()
    {
        var reason = "ONNX Runtime's CUDA provider cannot load: libcublas.so.13 (cuBLAS 13) was not found: install cuBLAS.";
        var error = Assert.Throws<HeteroBatchException>(() =>
            new OrtCudaBackend().CreateSession(TestOnnxModels.ConvNet, Gpu(false, reason), BackendOptions.Default));
        Assert.Equal("CudaProviderUnavailable", error.ErrorId);
        Assert.Equal(ErrorKind.NotInstalled, error.Kind);
        Assert.Contains("libcublas.so.13", error.Message);
        Assert.Equal("gpu0", error.Target);
    }

    [SkippableFact]
    public void Without_CUDA_libraries_a_session_request_fails_as_CudaProviderUnavailable()
    {
        Skip.If(CudaProviderProbe.Default.Check().Usable, "CUDA 13 libraries are present: the provider would load here.");
        // A unit that claims to be usable (discovery bypassed): the real provider load must still be caught.
        var error = Assert.Throws<HeteroBatchException>(() =>
            new OrtCudaBackend().CreateSession(TestOnnxModels.ConvNet, Gpu(true), BackendOptions.Default));
        _output.WriteLine(error.Message);
        Assert.Equal("CudaProviderUnavailable", error.ErrorId);
        Assert.Contains("LD_LIBRARY_PATH", error.Message);
    }

    [Fact]
    public void Cpu_units_are_not_taken_by_the_cuda_backend()
    {
        var backend = new OrtCudaBackend();
        Assert.False(backend.Supports(ComputeUnitDiscovery.Find("cpu")));
        Assert.True(backend.Supports(Gpu(true)));
        Assert.Equal("BackendMismatch", Assert.Throws<HeteroBatchException>(() =>
            backend.CreateSession(TestOnnxModels.ConvNet, ComputeUnitDiscovery.Find("cpu"), BackendOptions.Default)).ErrorId);
    }

    [Fact]
    public void Provider_settings_are_normalised_and_carry_the_device_id()
    {
        var options = BackendOptions.Parse("threads=2;cudnn_conv_algo_search=heuristic;use_tf32=false;enable_cuda_graph=1;prefer_nhwc=on;arena_extend_strategy=ksameasrequested;gpu_mem_limit=1073741824;allow_spinning=1");
        var settings = CudaProviderSettings.From(options, deviceId: 3);
        Assert.Equal(3, settings.DeviceId);
        Assert.True(settings.CudaGraph);
        Assert.Equal(new Dictionary<string, string>
        {
            ["device_id"] = "3",
            ["cudnn_conv_algo_search"] = "HEURISTIC",
            ["use_tf32"] = "0",
            ["enable_cuda_graph"] = "1",
            ["prefer_nhwc"] = "1",
            ["arena_extend_strategy"] = "kSameAsRequested",
            ["gpu_mem_limit"] = "1073741824",
        }, settings.ProviderOptions);
        Assert.False(settings.CudaGraphDefaulted);
        // CUDA graphs are the default (no algorithm search when the batch size changes); an explicit 0 wins, and a
        // defaulted graph setting falls back to no graphs for a model the GPU cannot capture.
        var defaults = CudaProviderSettings.From(BackendOptions.Default, 0);
        Assert.True(defaults.CudaGraph);
        Assert.True(defaults.CudaGraphDefaulted);
        Assert.Equal("1", defaults.ProviderOptions["enable_cuda_graph"]);
        var fallback = defaults.WithoutGraphs();
        Assert.False(fallback.CudaGraph);
        Assert.Equal("0", fallback.ProviderOptions["enable_cuda_graph"]);
        Assert.False(CudaProviderSettings.From(BackendOptions.Parse("enable_cuda_graph=0"), 0).CudaGraph);
        // NHWC is the measured-faster default; an explicit setting wins.
        Assert.Equal("1", CudaProviderSettings.From(BackendOptions.Default, 0).ProviderOptions["prefer_nhwc"]);
        Assert.Equal("0", CudaProviderSettings.From(BackendOptions.Parse("prefer_nhwc=0"), 0).ProviderOptions["prefer_nhwc"]);
    }

    [Theory]
    [InlineData("cudnn_conv_algo_search=FASTEST")]
    [InlineData("use_tf32=maybe")]
    [InlineData("gpu_mem_limit=lots")]
    [InlineData("cudnn_algo=EXHAUSTIVE")]
    public void Bad_cuda_settings_are_InvalidBackendOptions(string key)
    {
        var error = Assert.Throws<HeteroBatchException>(() =>
            new OrtCudaBackend().CreateSession(TestOnnxModels.ConvNet, Gpu(true), BackendOptions.Parse(key)));
        Assert.Equal("InvalidBackendOptions", error.ErrorId);
    }
}
