using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Backends.Cpu;
using HeteroBatch.Engine.Backends.OpenVino;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using Xunit;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Backends;

public class SessionCacheTests
{
    private static ComputeUnit Cpu => ComputeUnitDiscovery.Find("cpu");

    private static BackendRegistry NewRegistry(SessionCache cache) =>
        new(new IInferenceBackend[] { new OrtCpuBackend(), new OpenVinoBackend() }, cache);

    [Fact]
    public void OpenSession_returns_the_same_instance_for_the_same_model_unit_and_options()
    {
        using var cache = new SessionCache();
        var registry = NewRegistry(cache);
        var first = registry.OpenSession(TestOnnxModels.ConvNet, Cpu, BackendOptions.Parse("threads=1"));
        var second = registry.OpenSession(TestOnnxModels.ConvNet, Cpu, BackendOptions.Parse("threads=1"));
        var other = registry.OpenSession(TestOnnxModels.ConvNet, Cpu, BackendOptions.Parse("threads=2"));

        Assert.Same(first, second);
        Assert.NotSame(first, other);
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void Concurrent_first_requests_share_one_session()
    {
        using var cache = new SessionCache();
        var registry = NewRegistry(cache);
        var sessions = new IInferenceSession[8];
        Parallel.For(0, sessions.Length, i => sessions[i] = registry.OpenSession(TestOnnxModels.ConvNet, Cpu, BackendOptions.Default));
        Assert.All(sessions, s => Assert.Same(sessions[0], s));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Disposing_a_shared_session_does_not_close_it_but_clearing_the_cache_does()
    {
        using var cache = new SessionCache();
        var registry = NewRegistry(cache);
        var model = TestOnnxModels.ConvNet;
        var session = registry.OpenSession(model, Cpu);
        session.Dispose();
        var output = new float[model.OutputElementsPerItem];
        session.Run(TestOnnxModels.RandomInput(model.InputElementsPerItem, 9), output, 1);
        Assert.Contains(output, v => v != 0f);

        cache.Clear();
        Assert.Equal(0, cache.Count);
        Assert.Throws<ObjectDisposedException>(() => session.Run(new float[model.InputElementsPerItem], output, 1));
        Assert.NotSame(session, registry.OpenSession(model, Cpu));
    }

    [Fact]
    public void A_failed_creation_is_not_cached()
    {
        using var cache = new SessionCache();
        var registry = NewRegistry(cache);
        var corrupt = TestOnnxModels.Corrupt();
        Assert.Equal("ModelLoadFailed", Assert.Throws<HeteroBatchException>(() => registry.OpenSession(corrupt, Cpu)).ErrorId);
        Assert.Equal(0, cache.Count);
        Assert.Equal("ModelLoadFailed", Assert.Throws<HeteroBatchException>(() => registry.OpenSession(corrupt, Cpu)).ErrorId);
    }

    [Fact]
    public void Evict_closes_only_the_matching_sessions()
    {
        using var cache = new SessionCache();
        var registry = NewRegistry(cache);
        registry.OpenSession(TestOnnxModels.ConvNet, Cpu, BackendOptions.Parse("threads=1"));
        registry.OpenSession(TestOnnxModels.ConvNet, Cpu, BackendOptions.Parse("threads=2"));
        Assert.Equal(1, cache.Evict(k => k.OptionsKey == "threads=2"));
        Assert.Equal(new[] { "threads=1" }, cache.Keys.Select(k => k.OptionsKey));
    }

    [Fact]
    public void Default_registry_opens_cpu_sessions_from_the_shared_cache()
    {
        var model = TestOnnxModels.ConvNet;
        var a = BackendRegistry.Default.OpenSession(model, Cpu);
        var b = BackendRegistry.Default.OpenSession(model, Cpu);
        Assert.Same(a, b);
        Assert.Same(SessionCache.Shared, BackendRegistry.Default.Cache);
        Assert.IsType<OrtCpuSession>(SessionCache.Unwrap(a));
    }

    [Fact]
    public void Unit_without_backend_in_this_build_is_BackendNotFound_and_OpenVINO_is_NotInstalled()
    {
        var registry = NewRegistry(new SessionCache());
        var strange = new ComputeUnit { Id = "npu0", Kind = ComputeUnitKind.Accelerator, Backend = "TensorRT", Name = "x" };
        var missing = Assert.Throws<HeteroBatchException>(() => registry.OpenSession(TestOnnxModels.ConvNet, strange));
        Assert.Equal("BackendNotFound", missing.ErrorId);

        var openVino = new ComputeUnit { Id = "openvino:CPU", Kind = ComputeUnitKind.Accelerator, Backend = BackendNames.OpenVino, Name = "OpenVINO" };
        var notInstalled = Assert.Throws<HeteroBatchException>(() => registry.OpenSession(TestOnnxModels.ConvNet, openVino));
        Assert.Equal("OpenVinoNotInstalled", notInstalled.ErrorId);
        Assert.Equal(ErrorKind.NotInstalled, notInstalled.Kind);
        Assert.Contains("has no OpenVINO backend", notInstalled.Message);
        Assert.DoesNotContain("not found", notInstalled.Message);
    }
}
