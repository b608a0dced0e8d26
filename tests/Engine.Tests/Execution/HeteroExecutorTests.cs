using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Units;
using Xunit;
using Xunit.Abstractions;
using static HeteroBatch.Engine.Tests.Execution.PlanAndOutputTests;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>The executor on real ONNX Runtime CPU sessions: two one-thread slices of the CPU as two units.</summary>
[Collection(nameof(SharedSessionEvictionCollection))]
public sealed class HeteroExecutorTests
{
    private readonly ITestOutputHelper _log;
    public HeteroExecutorTests(ITestOutputHelper log) => _log = log;

    internal static ModelInfo Model => ExecutionTestModels.Small;
    internal static readonly IReadOnlyList<ComputeUnit> Slices = ThreadBudget.SplitCpu(CpuUnit(), 2, threadsPerSlice: 1);
    private static readonly IReadOnlyList<ComputeUnit> Whole = new[] { CpuUnit() };
    // One intra-op thread everywhere: the reference and the split runs compute each item the same way.
    internal static readonly BackendOptions OneThread = new() { IntraOpThreads = 1 };

    internal static ComputeUnit CpuUnit() => ComputeUnitDiscovery.Find("cpu");

    internal static IReadOnlyDictionary<string, BackendOptions> OptionsOf(IEnumerable<ComputeUnit> units, BackendOptions options) =>
        units.ToDictionary(u => u.Id, _ => options);

    private static InferenceResult RunWhole(BatchInput input) =>
        HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = Plan(input.Count, Share("cpu", 0, input.Count, input.Count)),
            Model = Model, Units = Whole, Input = input, UnitOptions = OptionsOf(Whole, OneThread),
        });

    public static TheoryData<string, int[], int[]> Splits => new()
    {
        // name, cpu:0 chunks, cpu:1 chunks (cpu:0 takes the first items)
        { "plain", new[] { 9 }, new[] { 11 } },
        { "chunked", new[] { 4, 4, 1 }, new[] { 2, 2, 2, 2, 2, 1 } },
        { "padded", new[] { 4, 8 }, new[] { 16 } },       // cpu:0: 9 items = 4 + 5 real of 8; cpu:1: 11 real of 16
        { "one-unit-idle", new int[0], new[] { 8, 8, 8 } },
    };

    [Theory]
    [MemberData(nameof(Splits))]
    public void Split_outputs_equal_the_whole_batch_in_order(string name, int[] chunks0, int[] chunks1)
    {
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 20, seed: 5);
        var reference = RunWhole(input).GetOutput()!;

        int items0 = name switch { "padded" => 9, "one-unit-idle" => 0, _ => chunks0.Sum() };
        var plan = Plan(20, Share("cpu:0", 0, items0, chunks0), Share("cpu:1", items0, 20 - items0, chunks1));
        var result = HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = plan, Model = Model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        });

        var output = result.GetOutput()!;
        Assert.Equal(new[] { 20 }.Concat(Model.OutputItemShape), result.OutputShape);
        Assert.Equal(20, result.Units.Sum(u => u.ItemsCompleted));
        Assert.Empty(result.FailedUnits);
        Assert.Equal(chunks0, result.Units.Single(u => u.Unit == "cpu:0").ExecutedBatchSizes);
        Assert.Equal(chunks1, result.Units.Single(u => u.Unit == "cpu:1").ExecutedBatchSizes);
        AssertSameOutputs(reference.Data.Span, output.Data.Span, _log, name);
    }

    [Fact]
    public void Executor_output_matches_a_direct_session_run()
    {
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 7, seed: 9);
        var direct = new float[7 * Model.OutputElementsPerItem];
        BackendRegistry.Default.OpenSession(Model, Whole[0], OneThread).Run(input.Data, direct, 7);
        var result = RunWhole(input);
        Assert.True(result.GetOutput()!.Data.Span.SequenceEqual(direct));
        Assert.True(result.WallMs > 0 && result.Units[0].ActualMs > 0 && result.Units[0].ExecMs > 0);
    }

    [Fact]
    public void A_unit_that_fails_mid_run_has_its_items_finished_by_the_other()
    {
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 20, seed: 11);
        var reference = RunWhole(input).GetOutput()!;
        var failing = new FailingSessions(CachedSessionProvider.Default, failUnits: new[] { "cpu:1" }, afterRuns: 1);
        var plan = Plan(20, Share("cpu:0", 0, 10, 5, 5), Share("cpu:1", 10, 10, 4, 4, 2));
        var progress = new List<ExecutionProgress>();
        var result = new HeteroExecutor(failing).Execute(new ExecutionRequest
        {
            Plan = plan, Model = Model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        }, new SyncProgress<ExecutionProgress>(p => { lock (progress) progress.Add(p); }));

        Assert.Equal(new[] { "cpu:1" }, result.FailedUnits);
        var bad = result.Units.Single(u => u.Unit == "cpu:1");
        Assert.True(bad.Failed);
        Assert.Equal("UnitOutOfMemory", bad.ErrorId);
        Assert.Contains("injected", bad.Error);
        Assert.Equal(4, bad.ItemsCompleted);
        var good = result.Units.Single(u => u.Unit == "cpu:0");
        Assert.False(good.Failed);
        Assert.Equal(16, good.ItemsCompleted);
        Assert.Equal(6, good.ItemsReplanned);
        Assert.Equal(6, result.ItemsReplanned);
        // Reports come from both workers, so the one added last need not be the newest: take the furthest.
        Assert.Equal(20, progress.Max(p => p.ItemsDone));
        AssertSameOutputs(reference.Data.Span, result.GetOutput()!.Data.Span, _log, "after failure");
    }

    [Fact]
    public void When_no_unit_is_left_the_missing_items_are_named()
    {
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 20, seed: 11);
        var failing = new FailingSessions(CachedSessionProvider.Default, failUnits: new[] { "cpu:0", "cpu:1" }, afterRuns: 1);
        var plan = Plan(20, Share("cpu:0", 0, 10, 5, 5), Share("cpu:1", 10, 10, 4, 4, 2));
        var e = Assert.Throws<HeteroBatchException>(() => new HeteroExecutor(failing).Execute(new ExecutionRequest
        {
            Plan = plan, Model = Model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        }));
        Assert.Equal(ExecutionErrorIds.ItemsNotComputed, e.ErrorId);
        Assert.Equal("5-9, 14-19", e.Target);
        Assert.Contains("11 of 20 items were not computed (items 5-9, 14-19)", e.Message);
        Assert.Contains("cpu:0", e.Message);
        Assert.Contains("cpu:1", e.Message);
    }

    [Fact]
    public void A_failure_on_a_unit_whose_session_cannot_open_is_replanned_too()
    {
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 6, seed: 3);
        var reference = RunWhole(input).GetOutput()!;
        var failing = new FailingSessions(CachedSessionProvider.Default, failUnits: new[] { "cpu:0" }, afterRuns: 0);
        var result = new HeteroExecutor(failing).Execute(new ExecutionRequest
        {
            Plan = Plan(6, Share("cpu:0", 0, 3), Share("cpu:1", 3, 3)),
            Model = Model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        });
        Assert.Equal(new[] { "cpu:0" }, result.FailedUnits);
        Assert.Equal(0, result.Units.Single(u => u.Unit == "cpu:0").ItemsCompleted);
        AssertSameOutputs(reference.Data.Span, result.GetOutput()!.Data.Span, _log, "session open failure");
    }

    [Fact]
    public void Two_units_run_at_the_same_time()
    {
        // A workload of about a second per unit: the wall time must be well under the sum of the units' times.
        var model = ExecutionTestModels.Slow;
        var input = BatchInputLoader.Synthetic(model.InputItemShape, 2 * ExecutionTestModels.SlowItemsPerUnit, seed: 1);
        int half = ExecutionTestModels.SlowItemsPerUnit, chunk = half / 4;
        var plan = Plan(2 * half, Share("cpu:0", 0, half, chunk, chunk, chunk, half - 3 * chunk), Share("cpu:1", half, half, chunk, chunk, chunk, half - 3 * chunk));
        var progress = new List<ExecutionProgress>();
        var result = HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = plan, Model = model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        }, new SyncProgress<ExecutionProgress>(p => { lock (progress) progress.Add(p); }));

        double sum = result.Units.Sum(u => u.ActualMs);
        _log.WriteLine($"wall {result.WallMs:F0} ms, units {string.Join(", ", result.Units.Select(u => $"{u.Unit} {u.ActualMs:F0} ms"))}");
        Assert.True(result.WallMs < 0.8 * sum, $"wall {result.WallMs:F0} ms is not below 0.8 x the units' sum {sum:F0} ms: the units did not overlap");
        // When the first unit finished, the other had already made progress.
        var firstDone = progress.First(p => p.Units.Any(u => u.ItemsDone == u.Items && u.Items > 0));
        Assert.All(firstDone.Units, u => Assert.True(u.ItemsDone > 0, $"{u.Unit} had done nothing when the other finished"));
    }

    [Fact]
    public void Cancellation_stops_every_unit_quickly()
    {
        var model = ExecutionTestModels.Slow;
        int n = 8 * ExecutionTestModels.SlowItemsPerUnit;   // several seconds of work per unit
        var input = BatchInputLoader.Synthetic(model.InputItemShape, n, seed: 2);
        var plan = Plan(n, Share("cpu:0", 0, n / 2, n / 2), Share("cpu:1", n / 2, n / 2, n / 2));
        using var cts = new CancellationTokenSource();
        var watch = new Stopwatch();
        var started = new ManualResetEventSlim();
        var run = Task.Run(() => HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = plan, Model = model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        }, new SyncProgress<ExecutionProgress>(_ => started.Set()), cts.Token));
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));
        Thread.Sleep(300);
        watch.Start();
        cts.Cancel();
        var e = Assert.ThrowsAny<OperationCanceledException>(() => run.GetAwaiter().GetResult());
        watch.Stop();
        _log.WriteLine($"stopped {watch.ElapsedMilliseconds} ms after cancel");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.ElapsedMilliseconds} ms to stop");

        // The units' workers are free again: a small run after the cancelled one completes.
        var small = BatchInputLoader.Synthetic(Model.InputItemShape, 4, seed: 1);
        var after = HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = Plan(4, Share("cpu:0", 0, 2), Share("cpu:1", 2, 2)), Model = Model, Units = Slices, Input = small,
            UnitOptions = OptionsOf(Slices, OneThread),
        });
        Assert.Equal(4, after.Units.Sum(u => u.ItemsCompleted));
    }

    [Fact]
    public void An_invalid_plan_is_refused_before_anything_runs()
    {
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, 5, seed: 1);
        var e = Assert.Throws<HeteroBatchException>(() => HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = Plan(5, Share("cpu:0", 0, 2), Share("cpu:1", 3, 2)), Model = Model, Units = Slices, Input = input,
        }));
        Assert.Equal(ExecutionErrorIds.InvalidPlan, e.ErrorId);

        // A plan naming a unit in other case is the same unit; the report uses the unit's own id.
        var upper = HeteroExecutor.Default.Execute(new ExecutionRequest
        {
            Plan = Plan(5, Share("CPU:1", 0, 5)), Model = Model, Units = Slices, Input = input, UnitOptions = OptionsOf(Slices, OneThread),
        });
        Assert.Equal(new[] { "cpu:1" }, upper.Units.Select(u => u.Unit));
        Assert.Equal(5, upper.Units[0].ItemsCompleted);
    }

    internal static void AssertSameOutputs(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, ITestOutputHelper log, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        bool bitwise = expected.SequenceEqual(actual);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = Math.Max(Math.Abs(expected[i]), 1e-6);
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]) / scale);
        }
        log.WriteLine($"{what}: bitwise {bitwise}, worst relative difference {worst:E2}");
        Assert.True(bitwise || worst <= 1e-5, $"{what}: outputs differ by {worst:E2} relative");
    }
}

/// <summary>An IProgress that reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>Wraps real sessions of some units so they fail after a number of successful runs, as a unit running out of memory would.</summary>
internal sealed class FailingSessions(ISessionProvider inner, string[] failUnits, int afterRuns) : ISessionProvider
{
    private readonly Dictionary<string, int> _runs = new();
    private int AfterRuns => afterRuns;

    public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options)
    {
        if (!failUnits.Contains(unit.Id)) return inner.Acquire(model, unit, options);
        if (afterRuns == 0) throw new InvalidOperationException($"injected: session of {unit.Id} cannot open");
        return new Failing(inner.Acquire(model, unit, options), this);
    }

    /// <summary>Units whose sessions the executor released (after they failed), in order.</summary>
    public List<string> Released { get; } = new();

    public void Release(ModelInfo model, ComputeUnit unit, BackendOptions options)
    {
        lock (Released) Released.Add(unit.Id);
        inner.Release(model, unit, options);
    }

    private sealed class Failing(IInferenceSession session, FailingSessions owner) : IInferenceSession
    {
        public ModelInfo Model => session.Model;
        public ComputeUnit Unit => session.Unit;
        public BackendOptions Options => session.Options;
        public void Dispose() { }

        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
        {
            int runs;
            lock (owner._runs) runs = owner._runs[Unit.Id] = owner._runs.GetValueOrDefault(Unit.Id) + 1;
            if (runs > owner.AfterRuns)
                throw new HeteroBatchException("UnitOutOfMemory", ErrorKind.DeviceError, $"injected: {Unit.Id} ran out of memory at batch {batchSize}", Unit.Id);
            return session.Run(input, output, batchSize, cancellationToken);
        }
    }
}
