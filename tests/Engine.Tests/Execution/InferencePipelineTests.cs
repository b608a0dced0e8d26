using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;
using Xunit.Abstractions;
using static HeteroBatch.Engine.Tests.Execution.PlanAndOutputTests;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>InferencePipeline.Run end to end: real zoo models, real ONNX Runtime CPU sessions, a temporary perf table.</summary>
[Collection(nameof(SharedSessionEvictionCollection))]
public sealed class InferencePipelineTests : IDisposable
{
    private readonly ITestOutputHelper _log;
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-pipeline-").FullName;
    public InferencePipelineTests(ITestOutputHelper log) => _log = log;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TablePath => Path.Combine(_dir, "perftable.json");

    // Quick profiling: enough to plan, not to publish.
    private static readonly ProfileOptions QuickProfile = new() { WarmupRuns = 1, Repeats = 1, Refine = false };

    private InferenceRequest Request(InputSource input) => new()
    {
        Model = "tinynet",
        ModelCacheDirectory = ExecutionTestModels.CacheDirectory,
        Units = new[] { "cpu:0", "cpu:1" },
        Input = input,
        PerfTablePath = TablePath,
        ProfileOptions = QuickProfile,
    };

    private static float[] Reference(BatchInput input, HeteroBatch.Engine.Models.ModelInfo model)
    {
        var output = new float[input.Count * model.OutputElementsPerItem];
        var cpu = HeteroExecutorTests.CpuUnit();
        BackendRegistry.Default.OpenSession(model, cpu, new BackendOptions { IntraOpThreads = 1 }).Run(input.Data, output, input.Count);
        return output;
    }

    [Fact]
    public void A_run_on_cpu_slices_is_measured_against_the_whole_cpu_when_the_table_knows_it()
    {
        // Without rows for the whole CPU the run has no baseline beyond the plan's (a slice).
        var first = InferencePipeline.Run(Request(InputSource.Synthetic(16, seed: 1)));
        Assert.Equal("", first.BestSingleUnit);
        Assert.StartsWith("cpu:", first.Plan!.BestSingleUnit);

        // Rows for the whole CPU, with the options a run on it uses, make it the baseline when it is the faster.
        var cpu = HeteroExecutorTests.CpuUnit();
        var model = HeteroBatch.Engine.Models.ModelResolver.Resolve("tinynet", ExecutionTestModels.CacheDirectory);
        var key = ThreadBudget.OptionsFor(new[] { cpu }).Single().Value.Key;
        var fast = new[] { 1, 2, 4, 8, 16 }.Select(b => new PerfEntry
        {
            Model = model.Name, ModelHash = model.Hash, MachineName = cpu.MachineName, Unit = "cpu", BackendOptions = key,
            BatchSize = b, ExecMs = 0.001 * b, Timestamp = DateTimeOffset.UtcNow,
        });
        new PerfTableStore(TablePath).Merge(fast);
        var second = InferencePipeline.Run(Request(InputSource.Synthetic(16, seed: 1)));
        Assert.Equal("cpu", second.BestSingleUnit);
        Assert.Equal(0.016, second.BestSingleUnitMs, 9);
        Assert.True(second.BestSingleUnitMs < second.Plan!.BestSingleUnitMs);

        // A run without slices keeps the plan's baseline.
        var whole = InferencePipeline.Run(Request(InputSource.Synthetic(16, seed: 1)) with { Units = new[] { "cpu" } });
        Assert.Equal("", whole.BestSingleUnit);
    }

    [Fact]
    public void Profiles_once_plans_runs_writes_and_learns()
    {
        var stages = new List<ExecutionStage>();
        var outPath = Path.Combine(_dir, "out", "logits.npy");
        var request = Request(InputSource.Synthetic(24, seed: 8)) with { OutputPath = outPath, UpdatePerfTable = true };
        var result = InferencePipeline.Run(request, new SyncProgress<ExecutionProgress>(p => { lock (stages) stages.Add(p.Stage); }));

        Assert.Contains(ExecutionStage.Profiling, stages);
        Assert.Equal(24, result.BatchSize);
        Assert.Equal(new[] { 24, 10 }, result.OutputShape);
        Assert.Equal(new[] { "cpu:0", "cpu:1" }, result.Units.Select(u => u.Unit));
        Assert.Equal(24, result.Units.Sum(u => u.ItemsCompleted));
        Assert.True(result.PredictedMs > 0);
        Assert.Equal(Path.GetFullPath(outPath), result.OutputPath);

        // The written tensor is the output, and the output is what one session computes for the whole batch.
        var (written, shape) = NpyFile.Read(outPath);
        Assert.Equal(new[] { 24, 10 }, shape);
        Assert.True(written.AsSpan().SequenceEqual(result.GetOutput()!.Data.Span));
        var input = BatchInputLoader.Synthetic(new[] { 3, 32, 32 }, 24, seed: 8);
        HeteroExecutorTests.AssertSameOutputs(Reference(input, ExecutionTestModels.Small), written, _log, "pipeline");

        // Profiled rows were saved for both slices with their one-thread options; the run's times were folded in.
        var rows = new PerfTableStore(TablePath).Read().ForModel(ExecutionTestModels.Small).ToList();
        Assert.Contains(rows, r => r.Unit == "cpu:0" && r.BackendOptions == "threads=1");
        Assert.Contains(rows, r => r.Unit == "cpu:1" && r.BackendOptions == "threads=1");
        var grid = ProfileOptions.BuildGrid(24);
        foreach (var unit in result.Units)
            foreach (var size in unit.ExecutedBatchSizes.Distinct())
            {
                var row = rows.Single(r => r.Unit == unit.Unit && r.BatchSize == size);
                // A profiled size gets the run's time folded in (the profiled numbers move to history); others are added.
                if (grid.Contains(size)) Assert.NotEmpty(row.History);
            }

        // A second run finds the table complete: no profiling, and no session is loaded again.
        // (Only this model's sessions on the slices are counted: other test classes open sessions in parallel.)
        int Sessions() => SessionCache.Shared.Keys.Count(k => k.ModelHash == ExecutionTestModels.Small.Hash && k.UnitId.StartsWith("cpu:"));
        int sessions = Sessions();
        Assert.True(sessions >= 2);
        stages.Clear();
        var again = InferencePipeline.Run(request with { OutputPath = null, UpdatePerfTable = false },
            new SyncProgress<ExecutionProgress>(p => { lock (stages) stages.Add(p.Stage); }));
        Assert.DoesNotContain(ExecutionStage.Profiling, stages);
        Assert.Equal(sessions, Sessions());
        Assert.True(again.GetOutput()!.Data.Span.SequenceEqual(written));
    }

    [Fact]
    public void A_unit_failing_in_a_planned_run_is_replanned_by_the_planner()
    {
        var request = Request(InputSource.Synthetic(16, seed: 6));
        InferencePipeline.Run(request); // profiles both slices into the table
        var services = PipelineServices.Default with
        {
            Sessions = new FailingSessions(CachedSessionProvider.Default, new[] { "cpu:1" }, afterRuns: 0),
        };
        var result = InferencePipeline.RunWith(request, services, null, default);
        Assert.Equal(new[] { "cpu:1" }, result.FailedUnits);

        // The planner's re-plan itself (not the executor's fallback) gives shares that tile the range.
        var units = InferencePipeline.ResolveUnits(request);
        var options = ThreadBudget.OptionsFor(units);
        var rows = InferencePipeline.RowsFor(new PerfTableStore(TablePath).Read(), ExecutionTestModels.Small, units, options);
        var replanner = PlannerBridge.ReplannerFor(new PlanInputs(ExecutionTestModels.Small, 16, units, rows, PlanAlgorithm.Optimal));
        Assert.NotNull(replanner);
        var shares = replanner!(new ReplanRequest
        {
            Offset = 5, Items = 7, FailedUnit = "cpu:1", Plan = result.Plan!, Model = ExecutionTestModels.Small,
            Units = new[] { new ReplanUnit { Unit = "cpu:0", BusyMs = 1 } },
        });
        Assert.Equal((5, 7), (shares.Where(s => s.Items > 0).Single().Offset, shares.Sum(s => s.Items)));
        var survivor = result.Units.Single(u => u.Unit == "cpu:0");
        Assert.Equal(16, survivor.ItemsCompleted);
        Assert.Equal(result.Units.Single(u => u.Unit == "cpu:1").Items, survivor.ItemsReplanned);
        var input = BatchInputLoader.Synthetic(new[] { 3, 32, 32 }, 16, seed: 6);
        HeteroExecutorTests.AssertSameOutputs(Reference(input, ExecutionTestModels.Small), result.GetOutput()!.Data.Span, _log, "replanned");
    }

    [Fact]
    public void NoAutoProfile_with_an_empty_table_is_MissingProfile()
    {
        var e = Assert.Throws<HeteroBatchException>(() => InferencePipeline.Run(Request(InputSource.Synthetic(4)) with { NoAutoProfile = true }));
        Assert.Equal(ExecutionErrorIds.MissingProfile, e.ErrorId);
        Assert.Contains("cpu:0", e.Message);
        Assert.False(File.Exists(TablePath) && new PerfTableStore(TablePath).Read().Count > 0);
    }

    [Fact]
    public void A_given_plan_runs_as_given_and_is_checked()
    {
        var plan = Plan(10, Share("cpu:0", 0, 3, 4), Share("cpu:1", 3, 7, 2, 2, 2, 2));
        var result = InferencePipeline.Run(Request(InputSource.Synthetic(10, 3)) with { Plan = plan, NoAutoProfile = true });
        Assert.Equal(new[] { 4 }, result.Units[0].ExecutedBatchSizes);
        Assert.Equal(new[] { 2, 2, 2, 2 }, result.Units[1].ExecutedBatchSizes);

        var e = Assert.Throws<HeteroBatchException>(() => InferencePipeline.Run(Request(InputSource.Synthetic(12, 3)) with { Plan = plan }));
        Assert.Equal(ExecutionErrorIds.InvalidPlan, e.ErrorId);
    }

    [Fact]
    public void Images_give_the_same_outputs_as_the_equivalent_npy()
    {
        var images = Directory.CreateDirectory(Path.Combine(_dir, "images")).FullName;
        var random = new Random(4);
        for (int i = 0; i < 5; i++)
        {
            using var image = new Image<Rgb24>(40 + 7 * i, 48 - 3 * i);
            for (int y = 0; y < image.Height; y++)
                for (int x = 0; x < image.Width; x++)
                    image[x, y] = new Rgb24((byte)random.Next(256), (byte)(x * 5), (byte)(y * 5));
            image.SaveAsPng(Path.Combine(images, $"img{i}.png"));
        }
        var plan = Plan(5, Share("cpu:0", 0, 2), Share("cpu:1", 2, 3, 4));
        var fromImages = InferencePipeline.Run(Request(InputSource.Files(images)) with { Plan = plan });

        // Preprocess once, save as .npy, run that.
        var preprocessed = BatchInputLoader.Load(InputSource.Files(images), ExecutionTestModels.Small);
        var npy = Path.Combine(_dir, "batch.npy");
        NpyFile.Write(npy, preprocessed.Data.Span, preprocessed.Shape);
        var fromNpy = InferencePipeline.Run(Request(InputSource.Files(npy)) with { Plan = plan });

        Assert.True(fromImages.GetOutput()!.Data.Span.SequenceEqual(fromNpy.GetOutput()!.Data.Span));
        var top = fromImages.GetOutput()!.TopK(3);
        Assert.Equal(15, top.Count);
        Assert.Equal("img0.png", top[0].Source);
        Assert.All(top, t => Assert.InRange(t.Score, 0f, 1f));
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "wrong-shape", ExecutionErrorIds.InvalidInputShape },
        { "wrong-dtype", ExecutionErrorIds.UnsupportedInputType },
        { "empty-folder", ExecutionErrorIds.EmptyInput },
        { "corrupt-image", ExecutionErrorIds.ImageDecodeFailed },
        { "missing-model", "ModelNotFound" },
        { "missing-unit", "UnitNotFound" },
        { "no-unit-left", ExecutionErrorIds.ItemsNotComputed },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_fails_with_a_stable_ErrorId_and_leaves_no_output_file(string what, string errorId)
    {
        var outDir = Directory.CreateDirectory(Path.Combine(_dir, "out")).FullName;
        var outPath = Path.Combine(outDir, "result.npy");
        var plan = Plan(3, Share("cpu:0", 0, 1), Share("cpu:1", 1, 2, 1, 1));
        var request = Request(InputSource.Synthetic(3)) with { OutputPath = outPath, Plan = plan };
        var services = PipelineServices.Default;
        switch (what)
        {
            case "wrong-shape":
                var shape = Path.Combine(_dir, "shape.npy");
                NpyFile.Write(shape, new float[3 * 3 * 16 * 16], new[] { 3, 3, 16, 16 });
                request = request with { Input = InputSource.Files(shape) };
                break;
            case "wrong-dtype":
                request = request with { Input = InputSource.FromArray(new double[3 * 3 * 32 * 32]) };
                break;
            case "empty-folder":
                request = request with { Input = InputSource.Files(Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName) };
                break;
            case "corrupt-image":
                var bad = Path.Combine(_dir, "broken.png");
                File.WriteAllBytes(bad, new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0, 0, 0 });
                request = request with { Input = InputSource.Files(bad) };
                break;
            case "missing-model":
                request = request with { Model = Path.Combine(_dir, "no-such-model.onnx") };
                break;
            case "missing-unit":
                request = request with { Units = new[] { "cpu:0", "gpu7" } };
                break;
            case "no-unit-left":
                services = services with { Sessions = new FailingSessions(CachedSessionProvider.Default, new[] { "cpu:0", "cpu:1" }, afterRuns: 0) };
                break;
        }
        var e = Assert.Throws<HeteroBatchException>(() => InferencePipeline.RunWith(request, services, null, default));
        _log.WriteLine($"{what}: {e.ErrorId}: {e.Message}");
        Assert.Equal(errorId, e.ErrorId);
        Assert.Empty(Directory.GetFileSystemEntries(outDir));
    }

    [Fact]
    public void Mobilenet_split_over_two_slices_equals_one_session()
    {
        var plan = Plan(6, Share("cpu:0", 0, 2, 4), Share("cpu:1", 2, 4, 3, 3)); // cpu:0 padded, cpu:1 chunked
        var request = Request(InputSource.Synthetic(6, seed: 21)) with { Model = "mobilenet", Plan = plan };
        var result = InferencePipeline.Run(request);
        var model = ExecutionTestModels.Mobile;
        var input = BatchInputLoader.Synthetic(model.InputItemShape, 6, seed: 21);
        HeteroExecutorTests.AssertSameOutputs(Reference(input, model), result.GetOutput()!.Data.Span, _log, "mobilenet");
        var top = result.GetOutput()!.TopK(5);
        Assert.Equal(30, top.Count);
        Assert.All(top.GroupBy(t => t.Item), g => Assert.True(g.Select(t => t.Score).SequenceEqual(g.Select(t => t.Score).OrderDescending())));
    }
}
