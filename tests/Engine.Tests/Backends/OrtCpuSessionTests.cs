using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Xunit.Abstractions;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Backends;

public class OrtCpuSessionTests
{
    private readonly ITestOutputHelper _output;

    public OrtCpuSessionTests(ITestOutputHelper output) => _output = output;

    private static ComputeUnit Cpu => ComputeUnitDiscovery.Find("cpu");

    /// <summary>The model run by a plain InferenceSession, the reference the engine must match.</summary>
    private static float[] ReferenceRun(Engine.Models.ModelInfo model, float[] input, int batchSize)
    {
        using var session = new InferenceSession(model.Path);
        var dims = new[] { batchSize }.Concat(model.InputItemShape).ToArray();
        var tensor = new DenseTensor<float>(input, dims);
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(model.InputName, tensor) });
        return results.Single(r => r.Name == model.OutputName).AsEnumerable<float>().ToArray();
    }

    [Theory]
    [InlineData("tinynet")]
    [InlineData("convnet")]
    public void Output_equals_a_plain_InferenceSession_run(string modelName)
    {
        var model = TestOnnxModels.ByName(modelName);
        const int batch = 6;
        var input = TestOnnxModels.RandomInput(batch * model.InputElementsPerItem, seed: 1);
        var output = new float[batch * model.OutputElementsPerItem];

        using var session = BackendRegistry.Default.CreateSession(model, Cpu, BackendOptions.Default);
        var timing = session.Run(input, output, batch);

        var expected = ReferenceRun(model, input, batch);
        Assert.Equal(expected.Length, output.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], output[i], 5);
        Assert.Contains(output, v => v != 0f);
        Assert.True(timing.ExecMs > 0);
        Assert.True(timing.IoMs >= 0);
        _output.WriteLine($"exec {timing.ExecMs:F3} ms, io {timing.IoMs:F3} ms");
    }

    [Theory]
    [InlineData("tinynet")]
    [InlineData("convnet")]
    public void Running_two_halves_equals_running_the_whole_batch(string modelName)
    {
        var model = TestOnnxModels.ByName(modelName);
        int inPer = model.InputElementsPerItem, outPer = model.OutputElementsPerItem;
        var input = TestOnnxModels.RandomInput(6 * inPer, seed: 2);
        var whole = new float[6 * outPer];
        var split = new float[6 * outPer];

        using var session = BackendRegistry.Default.CreateSession(model, Cpu, new BackendOptions { IntraOpThreads = 1 });
        session.Run(input, whole, 6);
        // Slices of the caller's arrays: zero copy means the engine reads and writes in place.
        session.Run(input.AsMemory(0, 3 * inPer), split.AsMemory(0, 3 * outPer), 3);
        session.Run(input.AsMemory(3 * inPer, 3 * inPer), split.AsMemory(3 * outPer, 3 * outPer), 3);

        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], split[i], 5);
    }

    [Fact]
    public void Output_longer_than_needed_is_written_only_in_its_head()
    {
        var model = TestOnnxModels.ConvNet;
        var input = TestOnnxModels.RandomInput(2 * model.InputElementsPerItem, seed: 3);
        var output = Enumerable.Repeat(float.NaN, 3 * model.OutputElementsPerItem).ToArray();
        using var session = BackendRegistry.Default.CreateSession(model, Cpu);
        session.Run(input, output, 2);
        Assert.DoesNotContain(output.Take(2 * model.OutputElementsPerItem), float.IsNaN);
        Assert.All(output.Skip(2 * model.OutputElementsPerItem), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void Wrong_input_size_is_InvalidInputShape()
    {
        var model = TestOnnxModels.ConvNet;
        using var session = BackendRegistry.Default.CreateSession(model, Cpu);
        var error = Assert.Throws<HeteroBatchException>(() =>
            session.Run(new float[2 * model.InputElementsPerItem - 1], new float[2 * model.OutputElementsPerItem], 2));
        Assert.Equal("InvalidInputShape", error.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);

        var small = Assert.Throws<HeteroBatchException>(() =>
            session.Run(new float[2 * model.InputElementsPerItem], new float[model.OutputElementsPerItem], 2));
        Assert.Equal("InvalidInputShape", small.ErrorId);

        var zero = Assert.Throws<HeteroBatchException>(() => session.Run(Array.Empty<float>(), Array.Empty<float>(), 0));
        Assert.Equal("InvalidBatchSize", zero.ErrorId);
    }

    [Fact]
    public void A_model_ORT_cannot_load_is_ModelLoadFailed()
    {
        var error = Assert.Throws<HeteroBatchException>(() =>
            BackendRegistry.Default.CreateSession(TestOnnxModels.Corrupt(), Cpu));
        Assert.Equal("ModelLoadFailed", error.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, error.Kind);
        Assert.IsType<OnnxRuntimeException>(error.InnerException);
    }

    [Fact]
    public void A_missing_model_file_is_ModelNotFound()
    {
        var model = TestOnnxModels.ConvNet with { Path = Path.Combine(TestOnnxModels.Folder, "absent.onnx"), Hash = "absent" };
        var error = Assert.Throws<HeteroBatchException>(() => BackendRegistry.Default.CreateSession(model, Cpu));
        Assert.Equal("ModelNotFound", error.ErrorId);
    }

    [Fact]
    public void Names_that_are_not_in_the_graph_are_ModelLoadFailed()
    {
        var model = TestOnnxModels.ConvNet with { InputName = "images", Hash = "renamed" };
        var error = Assert.Throws<HeteroBatchException>(() => BackendRegistry.Default.CreateSession(model, Cpu));
        Assert.Equal("ModelLoadFailed", error.ErrorId);
        Assert.Contains("input", error.Message);
    }

    [Fact]
    public void Unknown_backend_setting_is_rejected()
    {
        var options = BackendOptions.Parse("threads=1;allow_spinnig=1");
        var error = Assert.Throws<HeteroBatchException>(() => BackendRegistry.Default.CreateSession(TestOnnxModels.ConvNet, Cpu, options));
        Assert.Equal("InvalidBackendOptions", error.ErrorId);
        Assert.Contains("allow_spinning", error.Message);
    }

    [Fact]
    public void Cuda_settings_are_tolerated_on_the_cpu_and_spinning_can_be_turned_on()
    {
        var options = BackendOptions.Parse("threads=1;allow_spinning=1;cudnn_conv_algo_search=HEURISTIC");
        var model = TestOnnxModels.ConvNet;
        using var session = BackendRegistry.Default.CreateSession(model, Cpu, options);
        var output = new float[model.OutputElementsPerItem];
        session.Run(TestOnnxModels.RandomInput(model.InputElementsPerItem, 4), output, 1);
        Assert.Contains(output, v => v != 0f);
    }

    [Fact]
    public void Cancelling_a_long_run_stops_it_with_OperationCanceledException()
    {
        var model = TestOnnxModels.DeepMatMul;
        const int batch = 1024;
        var input = TestOnnxModels.RandomInput(batch * model.InputElementsPerItem, seed: 5);
        var output = new float[batch * model.OutputElementsPerItem];
        // One thread: ORT checks Terminate between nodes, and a multi-threaded node in a suite that runs
        // other sessions beside it can stall for seconds on descheduled pool threads (CI saw 4 s), which
        // timed the machine's load, not the cancel. A single-threaded node here is a few ms to tens of ms.
        using var session = BackendRegistry.Default.CreateSession(model, Cpu, new BackendOptions { IntraOpThreads = 1 });

        using var cts = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        // The cancel comes from a thread of its own, and the bound counts from the moment Cancel() returns:
        // CancelAfter's timer fires on the thread pool, which a busy parallel suite on 2 cores can starve for
        // seconds (CI saw 5.6 s with a one-thread session), and that timed the pool, not the run's stop.
        long cancelledAtTicks = 0;
        var canceller = new Thread(() =>
        {
            Thread.Sleep(300);
            cts.Cancel();
            Interlocked.Exchange(ref cancelledAtTicks, clock.Elapsed.Ticks);
        }) { IsBackground = true };
        canceller.Start();
        // Runs until the cancel lands: on a fast or idle machine one run may end before the 300 ms are up,
        // and the next one is then the run that is cut short.
        var error = Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(60)) session.Run(input, output, batch, cts.Token);
        });
        var stoppedAt = clock.Elapsed;
        canceller.Join();
        // Cancel() sets Terminate synchronously, so a run can end before the canceller reads the clock.
        var afterCancel = stoppedAt - TimeSpan.FromTicks(Interlocked.Read(ref cancelledAtTicks));
        if (afterCancel < TimeSpan.Zero) afterCancel = TimeSpan.Zero;
        _output.WriteLine($"stopped {afterCancel.TotalMilliseconds:F0} ms after the cancel");

        Assert.Equal(cts.Token, error.CancellationToken);
        // Generous: a behaviour check (the run was cut short), not a speed test.
        Assert.True(afterCancel < TimeSpan.FromSeconds(5), $"run stopped {afterCancel.TotalMilliseconds:F0} ms after the cancel");

        // The session stays usable after a terminated run (RunOptions are per run).
        var small = new float[model.OutputElementsPerItem];
        session.Run(input.AsMemory(0, model.InputElementsPerItem), small, 1);
        Assert.Contains(small, v => v != 0f);
    }

    [Fact]
    public void An_already_cancelled_token_runs_nothing()
    {
        var model = TestOnnxModels.ConvNet;
        using var session = BackendRegistry.Default.CreateSession(model, Cpu);
        var output = new float[model.OutputElementsPerItem];
        Assert.ThrowsAny<OperationCanceledException>(() =>
            session.Run(new float[model.InputElementsPerItem], output, 1, new CancellationToken(canceled: true)));
        Assert.All(output, v => Assert.Equal(0f, v));
    }
}
