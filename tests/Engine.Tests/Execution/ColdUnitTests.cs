using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using Xunit;
using static HeteroBatch.Engine.Tests.Execution.PlanAndOutputTests;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>
/// The cold-unit rule in a run: real CPU slices and sessions run the batch; the perf table is written by the test (two
/// equal slices, 1 ms an item, so splitting 32 items saves 16 ms), with each slice's setup cost; the session provider
/// says which sessions are open and warm, so each test sets how cold a unit is without depending on the process.
/// </summary>
public sealed class ColdUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-cold-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string TablePath => Path.Combine(_dir, "perftable.json");

    private InferenceRequest Request(BatchPlan? plan = null) => new()
    {
        Model = "tinynet",
        ModelCacheDirectory = ExecutionTestModels.CacheDirectory,
        Units = new[] { "cpu:0", "cpu:1" },
        Input = InputSource.Synthetic(32, seed: 3),
        PerfTablePath = TablePath,
        NoAutoProfile = true,
        Plan = plan,
    };

    /// <summary>Writes the table: sizes 1..32 at 1 ms an item, each slice with its session-open cost (null: unknown).</summary>
    private void WriteTable(double? openCpu0, double? openCpu1)
    {
        var request = Request();
        var units = InferencePipeline.ResolveUnits(request);
        var options = ThreadBudget.OptionsFor(units);
        var model = ModelResolver.Resolve("tinynet", ExecutionTestModels.CacheDirectory);
        var rows = units.SelectMany(u => new[] { 1, 2, 4, 8, 16, 32 }.Select(b => new PerfEntry
        {
            Model = model.Name, ModelHash = model.Hash, MachineName = u.MachineName, Unit = u.Id, DeviceName = u.Name, Backend = u.Backend,
            BackendOptions = options[u.Id].Key, BatchSize = b, ExecMs = b, Repeats = 3,
            OpenMs = u.Id == "cpu:0" ? openCpu0 : openCpu1, WarmUpMs = openCpu0 is null && openCpu1 is null ? null : 0,
        }));
        new PerfTableStore(TablePath).Merge(rows);
    }

    /// <summary>Real cached sessions for the run; what the planner is told of them is the test's.</summary>
    private sealed class Sessions(Func<ModelInfo, ComputeUnit, BackendOptions, IInferenceSession?> peek) : ISessionProvider
    {
        public Sessions(params string[] warmUnits) : this((m, u, o) => warmUnits.Contains(u.Id) ? new WarmSession(m, u, o) : null) { }

        public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) => CachedSessionProvider.Default.Acquire(model, unit, options);

        public bool TryPeek(ModelInfo model, ComputeUnit unit, BackendOptions options, out IInferenceSession? session)
        {
            session = peek(model, unit, options);
            return true;
        }
    }

    /// <summary>An open session warm at every size (only asked, never run); with <paramref name="warmHere"/>, only where it says.</summary>
    private sealed class WarmSession(ModelInfo model, ComputeUnit unit, BackendOptions options, Func<bool>? warmHere = null) : IInferenceSession, IWarmableSession
    {
        public ModelInfo Model => model;
        public ComputeUnit Unit => unit;
        public BackendOptions Options => options;
        public bool IsWarm(int batchSize) => warmHere?.Invoke() ?? true;
        public void WarmUp(int batchSize, CancellationToken cancellationToken = default) { }
        public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk) { }
        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("only peeked");
        public void Dispose() { }
    }

    private static (InferenceResult Result, OutputChannelTests.RecordingWriter Output) Run(InferenceRequest request, params string[] warmUnits)
    {
        var output = new OutputChannelTests.RecordingWriter();
        var services = PipelineServices.Default with { Sessions = new Sessions(warmUnits) };
        return (InferencePipeline.RunWith(request, services, output, default), output);
    }

    private static int ItemsOn(InferenceResult result, string unit) => result.Units.Where(u => u.Unit == unit).Sum(u => u.ItemsCompleted);

    [Fact]
    public void A_cold_unit_whose_setup_costs_more_than_it_saves_is_left_out_and_said_so()
    {
        WriteTable(openCpu0: 5, openCpu1: 1e6);
        var (result, output) = Run(Request(), "cpu:0");

        var left = Assert.Single(result.LeftOutCold);
        Assert.Equal("cpu:1", left.Unit);
        Assert.Equal(1e6, left.SetupMs);
        Assert.Equal(16, left.SavedMs, 6);
        Assert.Contains("-WarmUp", left.Reason);
        Assert.Contains(output.Verbose, m => m.StartsWith("Left out cold unit cpu:1", StringComparison.Ordinal) && m.Contains("1000000 ms") && m.Contains("16 ms"));
        Assert.Equal(32, ItemsOn(result, "cpu:0"));
        Assert.Equal(0, ItemsOn(result, "cpu:1"));
        Assert.Equal(0, result.Plan!.Shares.Single(s => s.Unit == "cpu:1").Items);
        Assert.Equal(32, result.GetOutput()!.Count);
    }

    [Fact]
    public void A_cold_unit_that_saves_more_than_its_setup_is_kept()
    {
        WriteTable(openCpu0: 5, openCpu1: 3);
        var (result, output) = Run(Request(), "cpu:0");
        Assert.Empty(result.LeftOutCold);
        Assert.True(ItemsOn(result, "cpu:1") > 0);
        Assert.Contains(output.Verbose, m => m.StartsWith("Cold unit(s) kept: cpu:1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_warm_unit_is_kept_whatever_its_setup_cost()
    {
        WriteTable(openCpu0: 5, openCpu1: 1e6);
        var (result, output) = Run(Request(), "cpu:0", "cpu:1");
        Assert.Empty(result.LeftOutCold);
        Assert.True(ItemsOn(result, "cpu:0") > 0 && ItemsOn(result, "cpu:1") > 0);
        Assert.DoesNotContain(output.Verbose, m => m.Contains("cold unit", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void An_unknown_setup_cost_keeps_the_unit_and_says_why()
    {
        WriteTable(openCpu0: null, openCpu1: null);
        var (result, output) = Run(Request(), "cpu:0");
        Assert.Empty(result.LeftOutCold);
        Assert.True(ItemsOn(result, "cpu:1") > 0);
        Assert.Contains(output.Verbose, m => m.StartsWith("Cold unit(s) cpu:1: the perf table has no setup cost", StringComparison.Ordinal));
    }

    [Fact]
    public void A_plan_given_by_the_user_is_never_changed()
    {
        WriteTable(openCpu0: 5, openCpu1: 1e6);
        var given = Plan(32, Share("cpu:0", 0, 16, 16), Share("cpu:1", 16, 16, 16));
        var (result, _) = Run(Request(given), "cpu:0");
        Assert.Empty(result.LeftOutCold);
        Assert.Equal(16, ItemsOn(result, "cpu:0"));
        Assert.Equal(16, ItemsOn(result, "cpu:1"));
    }

    [Fact]
    public void WarmUp_keeps_every_unit()
    {
        WriteTable(openCpu0: 5, openCpu1: 1e6);
        var (result, output) = Run(Request() with { WarmUp = true }, "cpu:0");
        Assert.Empty(result.LeftOutCold);
        Assert.True(ItemsOn(result, "cpu:1") > 0);
        Assert.DoesNotContain(output.Verbose, m => m.StartsWith("Left out", StringComparison.Ordinal));
    }

    [Fact]
    public void A_caller_running_many_batches_keeps_every_unit()
    {
        // A dataset stream: a unit left out of its first batch would never warm, so it would be left out of all.
        WriteTable(openCpu0: 5, openCpu1: 1e6);
        var (result, _) = Run(Request() with { KeepColdUnits = true }, "cpu:0");
        Assert.Empty(result.LeftOutCold);
        Assert.True(ItemsOn(result, "cpu:1") > 0);
    }

    [Fact]
    public void The_process_session_cache_tells_an_open_warm_session_from_a_closed_one()
    {
        // The default provider's peek: what SessionCache knows, without opening anything.
        using var cache = new SessionCache();
        var provider = new CachedSessionProvider(new BackendRegistry(BackendRegistry.Default.Backends, cache));
        var cpu = HeteroExecutorTests.CpuUnit();
        var options = new BackendOptions { IntraOpThreads = 1 };
        Assert.True(provider.TryPeek(ExecutionTestModels.Small, cpu, options, out var none));
        Assert.Null(none);
        Assert.Equal(0, cache.Count);
        var session = (IWarmableSession)provider.Acquire(ExecutionTestModels.Small, cpu, options);
        Assert.True(provider.TryPeek(ExecutionTestModels.Small, cpu, options, out var open));
        var warm = Assert.IsAssignableFrom<IWarmableSession>(open);
        Assert.False(warm.IsWarm(4));
        session.WarmUp(4);
        Assert.True(warm.IsWarm(4));
    }

    [Fact]
    public void A_GPU_warm_on_its_worker_thread_is_warm_to_the_planner()
    {
        // Asked on the planning thread, a CUDA session warmed by earlier runs looked cold: the H200 gave all 37 ResNet-50
        // items to the CPU (296 ms against 6.6 ms). The planner asks the unit's worker.
        var cpu = HeteroExecutorTests.CpuUnit();
        var gpu = cpu with { Id = "gpu7", Kind = ComputeUnitKind.Gpu, Backend = UnitBackends.OrtCuda, Name = "a GPU warm on its worker" };
        var units = new[] { gpu, cpu };
        var model = ExecutionTestModels.Small;
        var rows = units.SelectMany(u => new[] { 1, 8, 32 }.Select(b => new PerfEntry
        {
            Model = model.Name, ModelHash = model.Hash, MachineName = u.MachineName, Unit = u.Id, DeviceName = u.Name, Backend = u.Backend,
            BatchSize = b, ExecMs = u.Kind == ComputeUnitKind.Gpu ? 0.1 * b : 10.0 * b, Repeats = 3, Status = PerfStatus.Ok,
            OpenMs = 1000, WarmUpMs = 400,
        })).ToArray();
        var options = units.ToDictionary(u => u.Id, _ => BackendOptions.Default);
        var services = PipelineServices.Default with
        {
            // The GPU is warm only on its unit's worker thread, as a CUDA session is (ORT keeps its graphs per host thread).
            Sessions = new Sessions((m, u, o) => new WarmSession(m, u, o,
                u.Kind == ComputeUnitKind.Gpu ? () => Thread.CurrentThread.Name == "HeteroBatch unit " + u.MachineName + "/" + u.Id : null)),
        };
        var (plan, leftOut) = ColdUnitCheck.Plan(new PlanInputs(model, 37, units, rows, PlanAlgorithm.Optimal), options, services,
            new OutputChannelTests.RecordingWriter(), default);
        Assert.Empty(leftOut);
        Assert.True(plan.Shares.Single(s => s.Unit == "gpu7").Items > 30, string.Join(", ", plan.Shares.Select(s => $"{s.Unit} {s.Items}")));
    }
}
