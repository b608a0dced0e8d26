using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Xunit;
using static HeteroBatch.Engine.Tests.Execution.PlanAndOutputTests;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>
/// The executor's setup phase: sizes a plan runs are warmed (and buffers readied) before the run's clock starts,
/// and reported apart as SetupMs. A real CPU session runs every batch; the wrapper plays a GPU session whose
/// first run at each size pays a one-time cost, and records the order of what the executor asked of it.
/// </summary>
public sealed class WarmUpTests
{
    private static ModelInfo Model => ExecutionTestModels.Small;
    private static readonly BackendOptions OneThread = new() { IntraOpThreads = 1 };

    /// <summary>A real session behind the warm-up seam; a size is warm once warmed or run.</summary>
    internal sealed class SizeWarmedSession(IInferenceSession inner, TimeSpan firstRunCost) : IInferenceSession, IWarmableSession
    {
        public readonly List<string> Log = new();
        private readonly HashSet<int> _warm = new();

        public ModelInfo Model => inner.Model;
        public ComputeUnit Unit => inner.Unit;
        public BackendOptions Options => inner.Options;

        public bool IsWarm(int batchSize) { lock (Log) return _warm.Contains(batchSize); }

        public void WarmUp(int batchSize, CancellationToken cancellationToken = default)
        {
            Thread.Sleep(firstRunCost);
            inner.Run(new float[batchSize * Model.InputElementsPerItem], new float[batchSize * Model.OutputElementsPerItem], batchSize, cancellationToken);
            lock (Log) { _warm.Add(batchSize); Log.Add($"warm {batchSize}"); }
        }

        public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk) { lock (Log) Log.Add($"prepare {largestChunk}"); }

        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
        {
            lock (Log)
            {
                Log.Add($"run {batchSize}");
                // A cold size inside a run pays here: what the setup phase exists to prevent.
                if (_warm.Add(batchSize)) Thread.Sleep(firstRunCost);
            }
            return inner.Run(input, output, batchSize, cancellationToken);
        }

        public void Dispose() { }
    }

    private sealed class Provider(SizeWarmedSession session) : ISessionProvider
    {
        public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) => session;
    }

    private static SizeWarmedSession NewSession(TimeSpan cost) =>
        new(BackendRegistry.Default.CreateSession(Model, HeteroExecutorTests.CpuUnit(), OneThread), cost);

    [Fact]
    public void Every_size_the_plan_runs_is_warmed_before_the_first_run_and_reported_as_setup()
    {
        var session = NewSession(TimeSpan.FromMilliseconds(60));
        var executor = new HeteroExecutor(new Provider(session));
        var cpu = new[] { HeteroExecutorTests.CpuUnit() };
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 11, seed: 2);
        // 11 items as 4 + 4 + 4 (the last padded: 3 real items).
        var request = new ExecutionRequest { Plan = Plan(11, Share("cpu", 0, 11, 4, 4, 4)), Model = Model, Units = cpu, Input = input };

        var first = executor.Execute(request);

        int firstRun = session.Log.FindIndex(e => e.StartsWith("run", StringComparison.Ordinal));
        Assert.Equal(new[] { "warm 4" }, session.Log.Take(firstRun).Where(e => e.StartsWith("warm", StringComparison.Ordinal)));
        Assert.Contains("prepare 4", session.Log.Take(firstRun));
        Assert.Equal(new[] { "run 4", "run 4", "run 4" }, session.Log.Skip(firstRun));
        // The one-time cost is setup, not run time: the run's wall time excludes the 60 ms warm-up.
        Assert.True(first.SetupMs >= 55, $"SetupMs {first.SetupMs}");
        Assert.True(first.Units[0].SetupMs >= 55, $"unit SetupMs {first.Units[0].SetupMs}");
        Assert.True(first.WallMs < first.SetupMs, $"WallMs {first.WallMs} includes the setup {first.SetupMs}");

        // Warm now: nothing is warmed again; extra sizes asked for (-WarmUp) are warmed even when the plan does not run them.
        session.Log.Clear();
        var second = executor.Execute(request with { WarmSizes = new Dictionary<string, int[]> { ["cpu"] = new[] { 1, 2, 4 } } });
        Assert.Equal(new[] { "warm 1", "warm 2" }, session.Log.Where(e => e.StartsWith("warm", StringComparison.Ordinal)));
        Assert.Equal(11, second.Units.Sum(u => u.ItemsCompleted));
        session.Log.Clear();
        var third = executor.Execute(request);
        Assert.DoesNotContain(session.Log, e => e.StartsWith("warm", StringComparison.Ordinal));
        Assert.True(third.SetupMs < 55, $"a warm call's SetupMs {third.SetupMs}");
    }

    [Fact]
    public void A_unit_whose_warm_up_fails_has_its_items_run_by_the_others()
    {
        var units = ThreadBudget.SplitCpu(HeteroExecutorTests.CpuUnit(), 2, threadsPerSlice: 1);
        var good = NewSession(TimeSpan.Zero);
        var provider = new FailingWarmProvider(good, failing: "cpu:0");
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 8, seed: 4);
        var result = new HeteroExecutor(provider).Execute(new ExecutionRequest
        {
            Plan = Plan(8, Share("cpu:0", 0, 4, 4), Share("cpu:1", 4, 4, 4)), Model = Model, Units = units, Input = input,
        });
        Assert.Equal(new[] { "cpu:0" }, result.FailedUnits);
        Assert.Equal(8, result.Units.Sum(u => u.ItemsCompleted));
        Assert.Contains("warm-up refused", result.Units.Single(u => u.Unit == "cpu:0").Error);
    }

    private sealed class FailingWarmProvider(SizeWarmedSession good, string failing) : ISessionProvider
    {
        public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
            unit.Id == failing ? new RefusingSession(good) : good;
    }

    private sealed class RefusingSession(IInferenceSession inner) : IInferenceSession, IWarmableSession
    {
        public ModelInfo Model => inner.Model;
        public ComputeUnit Unit => inner.Unit;
        public BackendOptions Options => inner.Options;
        public bool IsWarm(int batchSize) => false;
        public void WarmUp(int batchSize, CancellationToken cancellationToken = default) =>
            throw new Errors.HeteroBatchException("UnitOutOfMemory", Errors.ErrorKind.ResourceUnavailable, "warm-up refused: out of memory", batchSize);
        public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk) { }
        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default) =>
            inner.Run(input, output, batchSize, cancellationToken);
        public void Dispose() { }
    }

    [Fact]
    public void A_cpu_session_warms_once_with_one_item()
    {
        using var session = (OrtCpuSessionOf(BackendRegistry.Default.CreateSession(Model, HeteroExecutorTests.CpuUnit(), OneThread)));
        var warm = (IWarmableSession)session;
        Assert.False(warm.IsWarm(64));
        warm.WarmUp(64);
        Assert.True(warm.IsWarm(64));
        Assert.True(warm.IsWarm(3));
    }

    private static IInferenceSession OrtCpuSessionOf(IInferenceSession session) => Assert.IsType<HeteroBatch.Engine.Backends.Cpu.OrtCpuSession>(session);
}
