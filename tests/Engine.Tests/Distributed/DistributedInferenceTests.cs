using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Tests.Execution;
using HeteroBatch.Engine.Units;
using Xunit;

namespace HeteroBatch.Engine.Tests.Distributed;

/// <summary>
/// The cross-machine coordinator end to end with in-process "machines" (<see cref="InProcessMachine"/>: the wire
/// format of a remote session, real ONNX Runtime sessions on this CPU): outputs equal a local run, machines that
/// drop out have their slices re-run elsewhere, bad input stops the run with its own error.
/// </summary>
public sealed class DistributedInferenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-distributed-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TablePath => Path.Combine(_dir, "perftable.json");
    private static string Model => ExecutionTestModels.Small.Path;
    private static readonly ProfileOptions QuickProfile = new() { BatchSizes = new[] { 1, 2, 4, 8 }, WarmupRuns = 0, Repeats = 1, Refine = false };

    private DistributedRequest Request(InputSource input, params IMachineRunner[] machines) => new()
    {
        Model = Model,
        Machines = machines,
        Units = new[] { "cpu" },
        Input = input,
        PerfTablePath = TablePath,
        ProfileOptions = QuickProfile,
        Algorithm = PlanAlgorithm.Even,
    };

    private float[] Local(InputSource input) =>
        InferencePipeline.Run(new InferenceRequest
        {
            Model = Model, Units = new[] { "cpu" }, Input = input, PerfTablePath = Path.Combine(_dir, "local.json"), ProfileOptions = QuickProfile,
        }).GetOutput()!.ToArray();

    [Fact]
    public void Two_machines_give_the_outputs_of_a_local_run_and_keep_both_in_one_table()
    {
        var input = InputSource.Synthetic(37, seed: 5);
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2");
        var result = DistributedInference.Run(Request(input, m1, m2));

        Assert.Equal(37, result.BatchSize);
        Assert.Equal(new[] { "m1", "m2" }, result.Machines.Select(m => m.Unit));
        Assert.All(result.Machines, m => Assert.True(m.ItemsCompleted > 0));
        Assert.Equal(37, result.Machines.Sum(m => m.ItemsCompleted));
        Assert.Equal(new[] { "m1/cpu", "m2/cpu" }, result.Units.Select(u => u.Unit));
        Assert.Empty(result.FailedMachines);
        Assert.Equal(2, result.Plan!.MachineShares.Length);
        Assert.Equal(Local(input), result.GetOutput()!.ToArray());

        // Each machine profiled its own unit; the rows sit in the caller's one table under the machine's name.
        var machines = new PerfTableStore(TablePath).Read().Select(r => r.MachineName).Distinct().Order().ToArray();
        Assert.Equal(new[] { "m1", "m2" }, machines);
        // Synthetic input travels as its seed, not as data.
        Assert.All(new[] { m1, m2 }, m => Assert.Equal(0, m.TensorBytes));
        Assert.All(m1.Requests.Concat(m2.Requests), r => Assert.Equal(ShareInput.SyntheticKind, r.Input.Kind));
    }

    [Fact]
    public void A_machine_that_drops_out_has_its_slice_rerun_on_the_others()
    {
        var input = InputSource.Synthetic(30, seed: 9);
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2") { BeforeRun = (_, run) => throw new MachineFailedException("m2", "m2 dropped out: its session is broken.") };
        var m3 = new InProcessMachine("m3");
        var result = DistributedInference.Run(Request(input, m1, m2, m3));

        Assert.Equal(new[] { "m2" }, result.FailedMachines);
        var dead = result.Machines.Single(m => m.Unit == "m2");
        Assert.True(dead.Failed);
        Assert.Equal(DistributedErrorIds.MachineFailed, dead.ErrorId);
        Assert.Equal(0, dead.ItemsCompleted);
        Assert.Equal(30, result.Machines.Sum(m => m.ItemsCompleted));
        Assert.Equal(dead.Items, result.Machines.Sum(m => m.ItemsReplanned));
        Assert.Equal(dead.Items, result.ItemsReplanned);
        Assert.Equal(Local(input), result.GetOutput()!.ToArray());
    }

    [Fact]
    public void When_every_machine_drops_out_the_items_are_named_as_not_computed()
    {
        IMachineRunner Failing(string name) => new InProcessMachine(name) { BeforeRun = (_, _) => throw new MachineFailedException(name, $"{name} is gone.") };
        var error = Assert.Throws<HeteroBatchException>(() => DistributedInference.Run(Request(InputSource.Synthetic(10), Failing("m1"), Failing("m2"))));
        Assert.Equal(ExecutionErrorIds.ItemsNotComputed, error.ErrorId);
        Assert.Contains("0-9", error.Message);
        Assert.Contains("m1 is gone", error.Message);
    }

    [Fact]
    public void Bad_input_on_a_machine_stops_the_run_with_its_own_error()
    {
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2")
        {
            BeforeRun = (_, _) => throw new HeteroBatchException(ExecutionErrorIds.ImageDecodeFailed, ErrorKind.InvalidData, "img7.png is not an image.", "img7.png"),
        };
        var error = Assert.Throws<HeteroBatchException>(() => DistributedInference.Run(Request(InputSource.Synthetic(12), m1, m2)));
        Assert.Equal(ExecutionErrorIds.ImageDecodeFailed, error.ErrorId);
        Assert.Equal(1, m2.Runs);
    }

    [Fact]
    public void A_tensor_travels_as_bytes_and_comes_back_in_order()
    {
        var data = new float[9 * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = MathF.Sin(i * 0.37f);
        var input = InputSource.FromArray(data, new[] { 9, 3, 32, 32 });
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2");
        var result = DistributedInference.Run(Request(input, m1, m2));
        Assert.Equal(Local(input), result.GetOutput()!.ToArray());
        // Every item went to exactly one machine, as 4 bytes per value.
        Assert.Equal(data.Length * 4L, m1.TensorBytes + m2.TensorBytes);
        Assert.All(new[] { m1, m2 }, m => Assert.True(m.TensorBytes > 0));
    }

    [Fact]
    public void Npy_files_are_split_by_item_across_file_boundaries_and_only_paths_travel()
    {
        var model = ExecutionTestModels.Small;
        var rng = new Random(3);
        int per = model.InputElementsPerItem;
        var files = new List<string>();
        foreach (var (name, count) in new[] { ("a.npy", 4), ("b.npy", 1), ("c.npy", 5) })
        {
            var values = Enumerable.Range(0, count * per).Select(_ => (float)rng.NextDouble()).ToArray();
            var path = Path.Combine(_dir, name);
            NpyFile.Write(path, values, count == 1 ? model.InputItemShape : new[] { count }.Concat(model.InputItemShape).ToArray());
            files.Add(path);
        }
        var input = InputSource.Files(_dir);
        var machines = new[] { new InProcessMachine("m1"), new InProcessMachine("m2"), new InProcessMachine("m3") };
        var result = DistributedInference.Run(Request(input, machines));

        Assert.Equal(10, result.BatchSize);
        Assert.Equal(Local(input), result.GetOutput()!.ToArray());
        Assert.Equal(new[] { "a.npy[0]", "a.npy[1]", "a.npy[2]", "a.npy[3]", "b.npy", "c.npy[0]" }, result.GetOutput()!.Sources!.Take(6));
        // Even split 4/3/3: the second machine reads b.npy and the first two items of c.npy, and nothing else.
        var second = machines[1].Requests.Single().Input;
        Assert.Equal(ShareInput.FilesKind, second.Kind);
        Assert.Equal(new[] { "b.npy", "c.npy" }, second.Files.Select(Path.GetFileName));
        Assert.Equal(0, second.FirstItem);
        Assert.Equal(3, second.Count);
        Assert.All(machines, m => Assert.Equal(0, m.TensorBytes));
    }

    [Fact]
    public void Unit_ids_name_machines_by_reported_name_or_address()
    {
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2");
        var result = DistributedInference.Run(Request(InputSource.Synthetic(8), m1, m2) with { Units = new[] { "M2/cpu", m1.Address + "/cpu" } });
        Assert.Equal(new[] { "m1", "m2" }, result.Machines.Select(m => m.Unit).Order());

        int m1Runs = m1.Runs;
        var only = DistributedInference.Run(Request(InputSource.Synthetic(8), m1, m2) with { Units = new[] { "m2/cpu" } });
        Assert.Equal(new[] { "m2" }, only.Machines.Select(m => m.Unit));
        Assert.Equal(m1Runs, m1.Runs);
    }

    [Fact]
    public void Rejects_unknown_machines_duplicates_and_missing_profiles_with_stable_ids()
    {
        var unknown = Assert.Throws<HeteroBatchException>(() =>
            DistributedInference.Run(Request(InputSource.Synthetic(4), new InProcessMachine("m1")) with { Units = new[] { "m9/cpu" } }));
        Assert.Equal(UnitErrorIds.UnknownMachine, unknown.ErrorId);
        Assert.Contains("m9", unknown.Message);

        var twice = Assert.Throws<HeteroBatchException>(() =>
            DistributedInference.Run(Request(InputSource.Synthetic(4), new InProcessMachine("m1"), new InProcessMachine("M1"))));
        Assert.Equal(DistributedErrorIds.DuplicateMachine, twice.ErrorId);

        var missing = Assert.Throws<HeteroBatchException>(() =>
            DistributedInference.Run(Request(InputSource.Synthetic(4), new InProcessMachine("m5")) with { NoAutoProfile = true, PerfTablePath = Path.Combine(_dir, "empty.json") }));
        Assert.Equal(ExecutionErrorIds.MissingProfile, missing.ErrorId);
        Assert.Contains("m5/cpu", missing.Message);

        var noUnit = Assert.Throws<HeteroBatchException>(() =>
            DistributedInference.Run(Request(InputSource.Synthetic(4), new InProcessMachine("m1")) with { Units = new[] { "gpu7" } }));
        Assert.Equal(UnitErrorIds.UnitNotFound, noUnit.ErrorId);
        Assert.Contains("m1", noUnit.Message);
    }

    [Fact]
    public void Runs_a_plan_from_the_planner_as_given_and_folds_measured_times()
    {
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2");
        // Profile both through a first run, then plan from the table as Split-Batch does.
        DistributedInference.Run(Request(InputSource.Synthetic(4), m1, m2));
        var rows = new PerfTableStore(TablePath).Read();
        var plan = MachinePlanner.Plan(rows, ExecutionTestModels.Small.Name, ExecutionTestModels.Small.Hash,
            new[] { new MachineUnits { MachineName = "m2", Units = new[] { "cpu" } }, new MachineUnits { MachineName = "m1", Units = new[] { "cpu" } } },
            20, PlanAlgorithm.Even);
        var copy = WireFormat.Deserialize<BatchPlan>(WireFormat.Serialize(plan));
        int historyBefore = rows.Count(r => r.History.Count > 0);

        var result = DistributedInference.Run(Request(InputSource.Synthetic(20, 2), m1, m2) with { Plan = copy, Units = null, UpdatePerfTable = true });
        Assert.Same(copy, result.Plan);
        Assert.Equal(new[] { 10, 10 }, result.Machines.Select(m => m.ItemsCompleted));
        Assert.Equal(0, m2.Requests.Last().FirstItem);
        Assert.Equal(10, m1.Requests.Last().FirstItem);
        Assert.Equal(Local(InputSource.Synthetic(20, 2)), result.GetOutput()!.ToArray());
        Assert.True(new PerfTableStore(TablePath).Read().Count(r => r.History.Count > 0) > historyBefore);
    }

    [Fact]
    public void Every_run_option_reaches_the_machines_so_half_precision_runs_across_machines_as_it_does_here()
    {
        var cache = Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName;
        var input = InputSource.Synthetic(12, seed: 4);
        var m1 = new InProcessMachine("m1");
        var m2 = new InProcessMachine("m2");
        var output = Path.Combine(_dir, "out.npy");
        var result = DistributedInference.Run(Request(input, m1, m2) with
        {
            Precision = ModelPrecision.Half, ModelCacheDirectory = cache, WarmUp = true, OutputPath = output, UpdatePerfTable = true,
        });

        var local = InferencePipeline.Run(new InferenceRequest
        {
            Model = Model, Units = new[] { "cpu" }, Input = input, PerfTablePath = Path.Combine(_dir, "local.json"), ProfileOptions = QuickProfile,
            Precision = ModelPrecision.Half, ModelCacheDirectory = cache,
        });
        Assert.EndsWith("-fp16", result.Model);
        Assert.Equal(local.ModelHash, result.ModelHash);
        Assert.Equal(local.GetOutput()!.ToArray(), result.GetOutput()!.ToArray());
        // The machines got the run's own options; the output and the fold stay on the machine that started the run.
        Assert.All(m1.Requests.Concat(m2.Requests), r =>
        {
            Assert.Equal(ModelPrecision.Half, r.Options.Precision);
            Assert.Equal(cache, r.Options.ModelCacheDirectory);
            Assert.True(r.Options.WarmUp);
            Assert.Null(r.Options.OutputPath);
            Assert.False(r.Options.UpdatePerfTable);
            Assert.Equal(new[] { "cpu" }, r.Options.Units);
        });
        Assert.Equal(Path.GetFullPath(output), result.OutputPath);
        Assert.True(File.Exists(output));
        // The table holds the fp16 model's rows (profiled on the machines, then folded), not the fp32 model's.
        Assert.All(new PerfTableStore(TablePath).Read(), r => Assert.Equal(result.ModelHash, r.ModelHash));
    }

    [Fact]
    public void Options_survive_the_wire_as_one_record()
    {
        RunOptions options = new InferenceRequest
        {
            Model = "tinynet", ModelCacheDirectory = "/models", Precision = ModelPrecision.Half, Units = new[] { "cpu", "gpu0" }, CpuSlices = 2,
            BackendOptions = BackendOptions.Parse("threads=3;use_tf32=1"), Algorithm = PlanAlgorithm.Seed, PerfTablePath = "/t.json",
            NoAutoProfile = true, ProfileOptions = QuickProfile, UpdatePerfTable = true, FoldWeight = 0.5, OutputPath = "/o.npy", WarmUp = true,
            Input = InputSource.Synthetic(3),
        };
        var sent = options.ForMachine(new[] { "cpu" });
        var copy = WireFormat.Deserialize<ShareRequest>(WireFormat.Serialize(new ShareRequest { Options = sent, Input = new ShareInput { Kind = ShareInput.SyntheticKind, Count = 1 } })).Options;
        Assert.Equal(typeof(RunOptions), copy.GetType());
        Assert.Equal(sent with { Units = null, BackendOptions = null, ProfileOptions = null }, copy with { Units = null, BackendOptions = null, ProfileOptions = null });
        Assert.Equal(new[] { "cpu" }, copy.Units);
        Assert.Equal("threads=3;use_tf32=1", copy.BackendOptions!.Key);
        Assert.Equal(QuickProfile.BatchSizes, copy.ProfileOptions!.BatchSizes);
        Assert.Null(copy.OutputPath);
        Assert.False(copy.UpdatePerfTable);
        Assert.Equal(ModelPrecision.Half, copy.Precision);
    }
}
