using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Backends.Cuda;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Xunit;
using Xunit.Abstractions;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Backends.Cuda;

/// <summary>Real CUDA sessions; every test skips (visibly) on a machine without a usable GPU.</summary>
public class OrtCudaSessionTests
{
    private readonly ITestOutputHelper _output;

    public OrtCudaSessionTests(ITestOutputHelper output) => _output = output;

    // TF32 off so the GPU result can be compared with the CPU's at float32 precision.
    private static readonly BackendOptions ExactMath = BackendOptions.Parse("use_tf32=0");

    private static float[] CpuRun(ModelInfo model, float[] input, int batch)
    {
        var output = new float[batch * model.OutputElementsPerItem];
        using var session = BackendRegistry.Default.CreateSession(model, ComputeUnitDiscovery.Find("cpu"));
        session.Run(input, output, batch);
        return output;
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])),
                $"element {i}: cpu {expected[i]} gpu {actual[i]}");
    }

    [SkippableTheory]
    [InlineData("tinynet")]
    [InlineData("convnet")]
    public void Gpu_output_matches_the_cpu_and_timings_are_split(string modelName)
    {
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.ByName(modelName);
        const int batch = 6;
        var input = TestOnnxModels.RandomInput(batch * model.InputElementsPerItem, seed: 11);
        var output = new float[batch * model.OutputElementsPerItem];

        using var session = BackendRegistry.Default.CreateSession(model, gpu, ExactMath);
        Assert.IsType<OrtCudaSession>(session);
        session.Run(input, output, batch); // warm-up: cuDNN algorithm search
        var timing = session.Run(input, output, batch);
        _output.WriteLine($"{gpu.Id} {gpu.Name}: exec {timing.ExecMs:F3} ms, io {timing.IoMs:F3} ms");

        AssertClose(CpuRun(model, input, batch), output);
        Assert.True(timing.ExecMs > 0);
        Assert.True(timing.IoMs > 0);
        // Host→device and device→host are timed on their own and make up the I/O.
        Assert.True(timing.HostToDeviceMs > 0 && timing.DeviceToHostMs > 0);
        Assert.Equal(timing.IoMs, timing.HostToDeviceMs + timing.DeviceToHostMs, 6);
    }

    [SkippableFact]
    public void Changing_batch_sizes_reuses_and_grows_device_buffers_with_correct_results()
    {
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.ConvNet;
        using var session = (OrtCudaSession)BackendRegistry.Default.CreateSession(model, gpu, ExactMath);
        long perItem = (model.InputElementsPerItem + model.OutputElementsPerItem) * sizeof(float);

        foreach (var batch in new[] { 2, 6, 3, 6, 1 })
        {
            var input = TestOnnxModels.RandomInput(batch * model.InputElementsPerItem, seed: 100 + batch);
            var output = new float[batch * model.OutputElementsPerItem];
            session.Run(input, output, batch);
            AssertClose(CpuRun(model, input, batch), output);
        }
        // Grown once to the largest batch (6), never shrunk or duplicated.
        Assert.Equal(6 * perItem, session.DeviceBufferBytes);
    }

    [SkippableFact]
    public void Warmth_belongs_to_the_thread_that_warmed_and_another_thread_warms_again_with_the_same_results()
    {
        // ORT keeps CUDA graphs per host thread: a size warmed on one thread is cold on the next.
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.ConvNet;
        using var session = (OrtCudaSession)BackendRegistry.Default.CreateSession(model, gpu, ExactMath);
        Skip.IfNot(session.UsesCudaGraphs, "CUDA graphs are off for this model.");
        var input = TestOnnxModels.RandomInput(4 * model.InputElementsPerItem, seed: 21);
        var first = new float[4 * model.OutputElementsPerItem];
        var second = new float[4 * model.OutputElementsPerItem];
        session.WarmUp(4);
        Assert.True(session.IsWarm(4));
        session.Run(input, first, 4);
        bool coldThere = true, warmAfter = false;
        Exception? failure = null;
        var other = new Thread(() =>
        {
            try
            {
                coldThere = !session.IsWarm(4);
                session.WarmUp(4);
                warmAfter = session.IsWarm(4);
                session.Run(input, second, 4);
            }
            catch (Exception e) { failure = e; }
        });
        other.Start();
        other.Join();
        Assert.Null(failure);
        Assert.True(coldThere, "a size warmed on another thread counted as warm");
        Assert.True(warmAfter);
        AssertClose(first, second, 1e-5f);
    }

    [SkippableFact]
    public void Split_batches_on_the_gpu_equal_the_whole_batch()
    {
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.ConvNet;
        int inPer = model.InputElementsPerItem, outPer = model.OutputElementsPerItem;
        var input = TestOnnxModels.RandomInput(6 * inPer, seed: 12);
        var whole = new float[6 * outPer];
        var split = new float[6 * outPer];
        using var session = BackendRegistry.Default.CreateSession(model, gpu, ExactMath);
        session.Run(input, whole, 6);
        session.Run(input.AsMemory(0, 3 * inPer), split.AsMemory(0, 3 * outPer), 3);
        session.Run(input.AsMemory(3 * inPer), split.AsMemory(3 * outPer), 3);
        AssertClose(whole, split, 1e-5f);
    }

    [SkippableFact]
    public void Cuda_graph_mode_gives_the_same_results_per_batch_size()
    {
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.ConvNet;
        using var session = (OrtCudaSession)BackendRegistry.Default.CreateSession(model, gpu, BackendOptions.Parse("use_tf32=0;enable_cuda_graph=1"));
        foreach (var batch in new[] { 2, 4, 2, 4, 2 })
        {
            var input = TestOnnxModels.RandomInput(batch * model.InputElementsPerItem, seed: 200 + batch);
            var output = new float[batch * model.OutputElementsPerItem];
            session.Run(input, output, batch);
            AssertClose(CpuRun(model, input, batch), output);
        }
        long perItem = (model.InputElementsPerItem + model.OutputElementsPerItem) * sizeof(float);
        Assert.Equal((2 + 4) * perItem, session.DeviceBufferBytes);
    }

    [SkippableFact]
    public void A_cancelled_token_stops_a_gpu_run_and_the_session_stays_usable()
    {
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.ConvNet;
        using var session = BackendRegistry.Default.CreateSession(model, gpu, ExactMath);
        var input = TestOnnxModels.RandomInput(model.InputElementsPerItem, seed: 13);
        var output = new float[model.OutputElementsPerItem];
        Assert.ThrowsAny<OperationCanceledException>(() => session.Run(input, output, 1, new CancellationToken(true)));
        session.Run(input, output, 1);
        AssertClose(CpuRun(model, input, 1), output);
    }

    [SkippableFact]
    public void Exceeding_the_gpu_memory_limit_is_UnitOutOfMemory()
    {
        var gpu = CudaTestUnits.RequireGpu();
        var model = TestOnnxModels.DeepMatMul;
        const int batch = 65536; // 64 MiB per activation, against a 16 MiB arena limit
        var options = BackendOptions.Parse("gpu_mem_limit=16777216");
        var input = new float[batch * model.InputElementsPerItem];
        var output = new float[batch * model.OutputElementsPerItem];
        var error = Assert.Throws<HeteroBatchException>(() =>
        {
            using var session = BackendRegistry.Default.CreateSession(model, gpu, options);
            session.Run(input, output, batch);
        });
        _output.WriteLine(error.Message);
        Assert.Equal("UnitOutOfMemory", error.ErrorId);
        Assert.Equal(ErrorKind.LimitsExceeded, error.Kind);
    }

    [SkippableFact]
    public void Shared_gpu_sessions_come_from_the_cache()
    {
        var gpu = CudaTestUnits.RequireGpu();
        var a = BackendRegistry.Default.OpenSession(TestOnnxModels.ConvNet, gpu, ExactMath);
        var b = BackendRegistry.Default.OpenSession(TestOnnxModels.ConvNet, gpu, ExactMath);
        Assert.Same(a, b);
        Assert.IsType<OrtCudaSession>(SessionCache.Unwrap(a));
    }
}
