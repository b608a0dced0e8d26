// Overhead of HeteroExecutor running a batch on one unit (the CPU) against a bare ONNX Runtime Run of the
// same batch in the same process, with the same session options (the CPU backend's: graph optimisation all,
// sequential, intra-op = the thread budget, inter-op 1, memory arena on, spinning off).
//
// Three ways of running the same batch, interleaved in rotating order so drift hits all alike:
//   bare      InferenceSession.Run over OrtValues made once (the floor: nothing but ORT)
//   session   the backend's IInferenceSession.Run (wraps the buffers as OrtValues each call)
//   executor  HeteroExecutor.Execute with a one-unit plan (worker thread hand-off, plan check, result)
// Medians of the repeats; overhead = executor / bare − 1.
//
// dotnet run -c Release --project bench/ExecutionBench -- [--model mobilenet] [--batch 32] [--repeats 21]
//     [--warmup 3] [--threads N] [--cache DIR] [--out FILE.md]
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;

var opts = Args.Parse(args);
var model = ModelResolver.Resolve(opts.Model, opts.Cache);
var cpu = ComputeUnitDiscovery.Find("cpu");
var units = new[] { cpu };
var options = ThreadBudget.OptionsFor(units)[cpu.Id];
if (opts.Threads > 0) options = options with { IntraOpThreads = opts.Threads };
var input = BatchInputLoader.Synthetic(model.InputItemShape, opts.Batch, seed: 1);

// Bare ONNX Runtime: the CPU backend's session options, rebuilt here from ONNX Runtime's own API.
using var sessionOptions = new SessionOptions
{
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    IntraOpNumThreads = options.IntraOpThreads,
    InterOpNumThreads = 1,
    EnableCpuMemArena = true,
};
sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
using var bare = new InferenceSession(model.Path, sessionOptions);
var bareOutput = GC.AllocateUninitializedArray<float>(opts.Batch * model.OutputElementsPerItem, pinned: true);
using var bareIn = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
    MemoryMarshal.AsMemory(input.Data), new long[] { opts.Batch }.Concat(model.InputItemShape.Select(d => (long)d)).ToArray());
using var bareOut = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
    bareOutput.AsMemory(), new long[] { opts.Batch }.Concat(model.OutputItemShape.Select(d => (long)d)).ToArray());
using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
var inNames = new[] { model.InputName };
var outNames = new[] { model.OutputName };
var inValues = new[] { bareIn };
var outValues = new[] { bareOut };

var session = BackendRegistry.Default.OpenSession(model, cpu, options);
var sessionOutput = GC.AllocateUninitializedArray<float>(opts.Batch * model.OutputElementsPerItem, pinned: true);

var plan = new BatchPlan
{
    Model = model.Name, ModelHash = model.Hash, BatchSize = opts.Batch, Algorithm = PlanAlgorithm.Even,
    PredictedMs = 0, BestSingleUnit = cpu.Id, BestSingleUnitMs = 0,
    Shares = new[] { new UnitShare { Unit = cpu.Id, Items = opts.Batch, Offset = 0, ExecutedBatchSizes = new[] { opts.Batch } } },
};
var request = new ExecutionRequest
{
    Plan = plan, Model = model, Units = units, Input = input,
    UnitOptions = new Dictionary<string, BackendOptions> { [cpu.Id] = options },
};
InferenceResult? executorResult = null;

// The executor around a session that does nothing: its own cost alone, with no ONNX Runtime noise.
var noopExecutor = new HeteroExecutor(new NoopSessions());
var ways = new (string Name, Action Run)[]
{
    ("bare", () => bare.Run(runOptions, inNames, inValues, outNames, outValues)),
    ("session", () => session.Run(input.Data, sessionOutput, opts.Batch)),
    ("executor", () => executorResult = HeteroExecutor.Default.Execute(request)),
    ("executor-noop", () => noopExecutor.Execute(request)),
};
var times = ways.ToDictionary(w => w.Name, _ => new List<double>());

Console.Error.WriteLine($"{model.Name} batch {opts.Batch}, {options.IntraOpThreads} intra-op threads, {opts.Warmup} warm-up + {opts.Repeats} repeats each");
for (int i = 0; i < opts.Warmup; i++) foreach (var w in ways) w.Run();
for (int r = 0; r < opts.Repeats; r++)
{
    for (int k = 0; k < ways.Length; k++)
    {
        var w = ways[(r + k) % ways.Length];   // rotate the order every repeat
        long start = Stopwatch.GetTimestamp();
        w.Run();
        times[w.Name].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    Console.Error.Write('.');
}
Console.Error.WriteLine();

// Same numbers from all three, or the comparison means nothing.
bool sameOutputs = bareOutput.AsSpan().SequenceEqual(sessionOutput) && bareOutput.AsSpan().SequenceEqual(executorResult!.GetOutput()!.Data.Span);

double Median(List<double> v) { var s = v.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
double Quartile(List<double> v, double q) { var s = v.Order().ToArray(); return s[(int)Math.Round(q * (s.Length - 1))]; }
double bareMs = Median(times["bare"]);
// Paired: the difference to the bare run of the same repeat (they ran back to back), so slow drift cancels.
double PairedMs(string name) => Median(times[name].Zip(times["bare"], (a, b) => a - b).ToList());
string Row(string name)
{
    var m = Median(times[name]);
    var paired = PairedMs(name);
    return $"| {name} | {m:F3} | {Quartile(times[name], 0.25):F3} | {Quartile(times[name], 0.75):F3} | {times[name].Min():F3} | {(m / bareMs - 1) * 100:+0.00;-0.00}% | {paired * 1000:F0} | {paired / bareMs * 100:+0.00;-0.00}% |";
}

var inv = CultureInfo.InvariantCulture;
var report = string.Join("\n", new[]
{
    $"### {model.Name}, batch {opts.Batch}, {options.IntraOpThreads} intra-op thread(s)",
    "",
    $"{opts.Warmup} warm-up runs and {opts.Repeats} timed runs of each way, interleaved in rotating order; times in ms.",
    "",
    "| way | median | q1 | q3 | min | median vs bare median | paired extra µs (median of per-repeat differences) | paired overhead |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    Row("bare"),
    Row("session"),
    Row("executor"),
    "",
    $"executor-noop (the executor around a session that returns at once; its own cost per batch): median {Median(times["executor-noop"]) * 1000:F0} µs, q1 {Quartile(times["executor-noop"], 0.25) * 1000:F0} µs, q3 {Quartile(times["executor-noop"], 0.75) * 1000:F0} µs, min {times["executor-noop"].Min() * 1000:F0} µs.",
    "",
    $"Outputs of the three ways identical: {sameOutputs}. Model hash {model.ShortHash}, options '{options.Key}'.",
    "",
}).ToString(inv);
Console.WriteLine(report);
if (opts.Out is not null)
{
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(opts.Out))!);
    File.AppendAllText(opts.Out, report + "\n");
}
return sameOutputs ? 0 : 1;

internal sealed class NoopSessions : ISessionProvider
{
    public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) => new Noop(model, unit, options);

    private sealed class Noop(ModelInfo model, ComputeUnit unit, BackendOptions options) : IInferenceSession
    {
        public ModelInfo Model => model;
        public ComputeUnit Unit => unit;
        public BackendOptions Options => options;
        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default) => default;
        public void Dispose() { }
    }
}

internal sealed record Args(string Model, int Batch, int Repeats, int Warmup, int Threads, string? Cache, string? Out)
{
    public static Args Parse(string[] a)
    {
        string Get(string name, string fallback)
        {
            int i = Array.IndexOf(a, "--" + name);
            return i >= 0 && i + 1 < a.Length ? a[i + 1] : fallback;
        }
        string? cache = Get("cache", "");
        string? outFile = Get("out", "");
        return new Args(Get("model", "mobilenet"), int.Parse(Get("batch", "32"), CultureInfo.InvariantCulture),
            int.Parse(Get("repeats", "21"), CultureInfo.InvariantCulture), int.Parse(Get("warmup", "3"), CultureInfo.InvariantCulture),
            int.Parse(Get("threads", "0"), CultureInfo.InvariantCulture), cache == "" ? null : cache, outFile == "" ? null : outFile);
    }
}
