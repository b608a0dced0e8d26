using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using Xunit;
using static HeteroBatch.Engine.Tests.Execution.PlanAndOutputTests;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>
/// Profiling and runs of a unit share one host thread, the unit's worker: ORT keeps a session's CUDA graphs (and cuDNN
/// handles) per thread, so sizes a profile warmed on another thread were captured again inside the next timed runs
/// (130-410 ms each on an H200). A real CPU session runs; the wrapper records the thread of every call.
/// </summary>
public sealed class UnitThreadTests
{
    private static ModelInfo Model => ExecutionTestModels.Small;

    private sealed class ThreadRecordingSession(IInferenceSession inner) : IInferenceSession, IWarmableSession
    {
        public readonly List<(string Call, int Thread)> Calls = new();
        private readonly HashSet<int> _warm = new();

        public ModelInfo Model => inner.Model;
        public ComputeUnit Unit => inner.Unit;
        public BackendOptions Options => inner.Options;

        private void Record(string call) { lock (Calls) Calls.Add((call, Environment.CurrentManagedThreadId)); }

        public bool IsWarm(int batchSize) { lock (Calls) return _warm.Contains(batchSize); }

        public void WarmUp(int batchSize, CancellationToken cancellationToken = default)
        {
            Record($"warm {batchSize}");
            inner.Run(new float[batchSize * Model.InputElementsPerItem], new float[batchSize * Model.OutputElementsPerItem], batchSize, cancellationToken);
            lock (Calls) _warm.Add(batchSize);
        }

        public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk) => Record("prepare");

        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
        {
            Record($"run {batchSize}");
            return inner.Run(input, output, batchSize, cancellationToken);
        }

        public void Dispose() { }
    }

    private sealed class Provider(IInferenceSession session) : ISessionProvider
    {
        public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) => session;
    }

    [Fact]
    public void A_units_profile_and_its_runs_happen_on_its_worker_thread()
    {
        var cpu = HeteroExecutorTests.CpuUnit();
        var options = new BackendOptions { IntraOpThreads = 1 };
        var session = new ThreadRecordingSession(BackendRegistry.Default.CreateSession(Model, cpu, options));
        var rows = new List<PerfEntry>();
        var profile = new ProfileOptions { BatchSizes = new[] { 1, 4 }, Repeats = 2, Refine = false };

        InferencePipeline.ProfileUnits(Model, new[] { cpu }, new Dictionary<string, BackendOptions> { [cpu.Id] = options }, profile,
            rows.Add, null, CancellationToken.None, (_, _, _) => session);

        Assert.Equal(new[] { 1, 4 }, rows.Select(r => r.BatchSize).Order());
        int worker = session.Calls[0].Thread;
        Assert.NotEqual(Environment.CurrentManagedThreadId, worker);
        Assert.All(session.Calls, c => Assert.Equal(worker, c.Thread));

        // The run after it: warmed by the profile (nothing warmed again) and run on the same thread.
        session.Calls.Clear();
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 8, seed: 3);
        var result = new HeteroExecutor(new Provider(session)).Execute(new ExecutionRequest
        {
            Plan = Plan(8, Share("cpu", 0, 8, 4, 4)), Model = Model, Units = new[] { cpu }, Input = input,
            UnitOptions = new Dictionary<string, BackendOptions> { [cpu.Id] = options },
        });
        Assert.Equal(8, result.Units.Sum(u => u.ItemsCompleted));
        Assert.DoesNotContain(session.Calls, c => c.Call.StartsWith("warm", StringComparison.Ordinal));
        Assert.Contains(session.Calls, c => c.Call == "run 4");
        Assert.All(session.Calls, c => Assert.Equal(worker, c.Thread));
    }

    [Fact]
    public void Invoke_rethrows_what_the_work_throws_and_runs_inline_on_its_own_thread()
    {
        var worker = UnitWorker.For("test/invoke-" + Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<InvalidOperationException>(() => worker.Invoke(() => throw new InvalidOperationException("inside")));
        Assert.Equal("inside", error.Message);
        int outer = -1, inner = -2;
        worker.Invoke(() =>
        {
            outer = Environment.CurrentManagedThreadId;
            worker.Invoke(() => inner = Environment.CurrentManagedThreadId);   // would deadlock if queued behind itself
        });
        Assert.Equal(outer, inner);
    }
}
