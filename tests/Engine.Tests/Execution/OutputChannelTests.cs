using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Tests.Distributed;
using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>What the engine tells its caller through <see cref="IOutputWriter"/>: the decisions a -Verbose user sees.</summary>
[Collection(nameof(SharedSessionEvictionCollection))]
public sealed class OutputChannelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-output-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ProfileOptions QuickProfile = new() { BatchSizes = new[] { 1, 2, 4, 8 }, WarmupRuns = 0, Repeats = 1, Refine = false };

    /// <summary>Keeps everything the engine writes.</summary>
    internal sealed class RecordingWriter : IOutputWriter
    {
        public List<string> Verbose { get; } = new();
        public List<string> Warnings { get; } = new();
        public List<ExecutionProgress> Progress { get; } = new();
        public void WriteVerbose(string message) { lock (Verbose) Verbose.Add(message); }
        public void WriteWarning(string message) { lock (Warnings) Warnings.Add(message); }
        public void WriteProgress(ExecutionProgress progress) { lock (Progress) Progress.Add(progress); }
        public string Text => string.Join("\n", Verbose);
    }

    [Fact]
    public void A_run_says_which_units_it_uses_what_it_profiles_its_plan_its_setup_and_what_it_writes()
    {
        var table = Path.Combine(_dir, "table.json");
        var output = new RecordingWriter();
        var request = new InferenceRequest
        {
            Model = "tinynet", ModelCacheDirectory = ExecutionTestModels.CacheDirectory, Units = new[] { "cpu:0", "cpu:1" },
            Input = InputSource.Synthetic(12, seed: 2), PerfTablePath = table, ProfileOptions = QuickProfile,
            UpdatePerfTable = true, OutputPath = Path.Combine(_dir, "out.npy"),
        };
        var result = InferencePipeline.Run(request, output);

        var text = output.Text;
        Assert.Contains("Units of this run: cpu:0", text);
        Assert.Contains("(as asked)", text);
        Assert.Contains($"Profiling cpu:0, cpu:1 for model 'tinynet': the perf table {table} has no rows", text);
        Assert.Contains("Batch sizes 1, 2, 4, 8", text);
        Assert.Matches(@"Saved \d+ profiled row\(s\) to the perf table", text);
        Assert.Contains("Planned 12 items with Optimal.", text);
        Assert.Contains($"Predicted time: {PlanText.Ms(result.PredictedMs)} ms", text);
        Assert.Matches(@"Setup before the clock starts \([\d.]+ ms, units at once\): cpu:\d opened its session and warmed batch sizes", text);
        Assert.Contains("Wrote the outputs, shape [12, 10]", text);
        Assert.Matches(@"Folded \d+ measured row\(s\) into the perf table", text);
        Assert.Contains(output.Progress, p => p.Stage == ExecutionStage.Executing);
        Assert.Empty(output.Warnings);

        // A second run finds its rows: no profiling is announced.
        var again = new RecordingWriter();
        InferencePipeline.Run(request with { UpdatePerfTable = false, OutputPath = null }, again);
        Assert.DoesNotContain("Profiling", again.Text);
        Assert.Contains("Planned 12 items", again.Text);
    }

    [Fact]
    public void A_failed_unit_and_where_its_items_went_are_told()
    {
        var input = BatchInputLoader.Synthetic(HeteroExecutorTests.Model.InputItemShape, 20, seed: 11);
        var failing = new FailingSessions(CachedSessionProvider.Default, failUnits: new[] { "cpu:1" }, afterRuns: 1);
        var plan = PlanAndOutputTests.Plan(20, PlanAndOutputTests.Share("cpu:0", 0, 10, 5, 5), PlanAndOutputTests.Share("cpu:1", 10, 10, 4, 4, 2));
        var output = new RecordingWriter();
        new HeteroExecutor(failing).Run(new ExecutionRequest
        {
            Plan = plan, Model = HeteroExecutorTests.Model, Units = HeteroExecutorTests.Slices, Input = input,
            UnitOptions = HeteroExecutorTests.OptionsOf(HeteroExecutorTests.Slices, HeteroExecutorTests.OneThread),
        }, output, default);
        Assert.Contains(output.Verbose, m => m.StartsWith("unit cpu:1 failed (") && m.Contains("injected") && m.EndsWith("its items 14-19 were re-planned onto unit cpu:0 (6)."));
        // The failed unit's session is not handed out again: released, and only that unit's.
        Assert.Equal("cpu:1", Assert.Single(failing.Released.Distinct()));
    }

    [Fact]
    public void The_cached_session_of_a_failed_unit_is_closed_and_the_next_run_opens_a_fresh_one()
    {
        var unit = HeteroExecutorTests.Slices[1];
        var model = HeteroExecutorTests.Model;
        var first = CachedSessionProvider.Default.Acquire(model, unit, HeteroExecutorTests.OneThread);
        CachedSessionProvider.Default.Release(model, unit, HeteroExecutorTests.OneThread);
        Assert.DoesNotContain(SessionCache.Shared.Keys, k => k == SessionKey.For(model, unit, HeteroExecutorTests.OneThread));
        var second = CachedSessionProvider.Default.Acquire(model, unit, HeteroExecutorTests.OneThread);
        Assert.NotSame(first, second);
        Assert.Contains(SessionCache.Shared.Keys, k => k == SessionKey.For(model, unit, HeteroExecutorTests.OneThread));
    }

    [Fact]
    public void Across_machines_the_machines_their_units_and_a_dropped_machine_are_told()
    {
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2") { BeforeRun = (_, _) => throw new MachineFailedException("m2", "m2 is gone.") };
        var output = new RecordingWriter();
        DistributedInference.Run(new DistributedRequest
        {
            Model = ExecutionTestModels.Small.Path, Machines = new IMachineRunner[] { m1, m2 }, Units = new[] { "cpu" },
            Input = InputSource.Synthetic(10), PerfTablePath = Path.Combine(_dir, "t.json"), ProfileOptions = QuickProfile,
            Algorithm = HeteroBatch.Engine.Planning.PlanAlgorithm.Even,
        }, output);
        var text = output.Text;
        Assert.Contains("Machine m1 (m1.test, 0 ms a call): units cpu", text);
        Assert.Contains("Profiling m1/cpu, m2/cpu for model", text);
        Assert.Contains("machine m1: items 0-4 (5)", text);
        Assert.Contains("machine m2 failed (m2 is gone.); its items 5-9 were re-planned onto machine m1 (5).", text);
    }
}
