// The CUDA path on a real GPU machine (issue 6). For each model, on the machine it runs on:
//   1. units (Get-ComputeUnit's engine);
//   2. GPU throughput at the throughput batch, host input -> host output: ORT defaults through
//      NamedOnnxValue (the baseline the brief measured) against the engine's CUDA session under each
//      provider option set; exec and I/O apart;
//   3. CPU throughput under the thread budget it gets beside a GPU;
//   4. profile gpu0 and cpu into a table, plan batch N (Optimal), run it across both N times, against the
//      GPU alone and the ideal N / sum(each unit's best measured throughput); predicted against actual;
//   5. correctness: GPU, CPU and split outputs of the same batch;
//   6. executor overhead: one-unit executor run against a bare session run of the same share.
// Results go to --out as markdown. Self-contained: dotnet publish -r linux-x64 --self-contained.
//
// GpuBench --models resnet-50,vgg-16 [--batch 100] [--tput-batch 128] [--repeats 15] [--out FILE.md]
//          [--option-sets "name:k=v,k=v;name2:..."] [--cpu-max 33] [--units gpu0,cpu]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var opts = BenchArgs.Parse(args);
var md = new StringBuilder();
void Line(string s = "") { Console.WriteLine(s); md.AppendLine(s); }

var units = ComputeUnitDiscovery.Discover();
Line($"# GPU bench — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Line();
Line($"- machine: {Environment.MachineName}, {Environment.ProcessorCount} logical CPUs, {Environment.OSVersion}");
Line($"- ONNX Runtime {OrtEnv.Instance().GetVersionString()}, .NET {Environment.Version}");
Line();
Line("| unit | kind | name | memory GB | cores/SMs | cc | driver | available | reason |");
Line("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var u in units)
    Line($"| {u.Id} | {u.Kind} | {u.Name} | {(u.MemoryBytes ?? 0) / 1e9:F1} | {(u.Kind == ComputeUnitKind.Cpu ? $"{u.PhysicalCores}/{u.LogicalCores}" : u.Multiprocessors?.ToString())} | {u.ComputeCapability} | {u.DriverVersion} | {u.Available} | {u.Reason} |");
Line();

var gpu = units.FirstOrDefault(u => u.Id == opts.Gpu);
var cpu = units.First(u => u.Kind == ComputeUnitKind.Cpu);
if (gpu is null || !gpu.Available)
{
    Line($"No usable {opts.Gpu}: {gpu?.Reason ?? "not present"}. Nothing GPU-side to measure.");
    File.WriteAllText(opts.Out, md.ToString());
    return 2;
}
// The units of the heterogeneous run: by default the first GPU and the CPU; --units gpu0,gpu1,cpu for more.
var pair = opts.Units.Select(id => units.First(u => string.Equals(u.Id, id, StringComparison.OrdinalIgnoreCase))).ToArray();
var gpus = pair.Where(u => u.Kind == ComputeUnitKind.Gpu).ToArray();
var budget = ThreadBudget.OptionsFor(pair);
var cpuOptions = budget.TryGetValue(cpu.Id, out var co) ? co : ThreadBudget.OptionsFor(new[] { gpu, cpu })[cpu.Id];

foreach (var name in opts.Models)
{
    var model = ModelResolver.Resolve(name, opts.Cache);
    Line($"## {model.Name} ({model.Source}, input {string.Join("x", model.InputItemShape)}, {model.ParameterCount / 1e6:F1} M params, hash {model.ShortHash})");
    Line();

    // --- 2. GPU throughput, host -> host ---
    int tb = opts.ThroughputBatch;
    var tInput = BatchInputLoader.Synthetic(model.InputItemShape, tb, seed: 3);
    var tOutput = PinnedArrays.Allocate(tb * model.OutputElementsPerItem);
    Line($"### GPU throughput, batch {tb}, fp32, input in host memory, output back in host memory");
    Line();
    Line("| way | median ms | exec ms | I/O ms | img/s |");
    Line("| --- | --- | --- | --- | --- |");
    {
        using var so = new SessionOptions();
        so.AppendExecutionProvider_CUDA(gpu.DeviceIndex);
        using var bare = new InferenceSession(model.Path, so);
        var tensor = new DenseTensor<float>(tInput.Data.ToArray(), new[] { tb }.Concat(model.InputItemShape).ToArray());
        var inputs = new[] { NamedOnnxValue.CreateFromTensor(model.InputName, tensor) };
        var times = Bench.Time(opts.Warmup, opts.Repeats, () =>
        {
            using var r = bare.Run(inputs);
            ((DenseTensor<float>)r.First().AsTensor<float>()).Buffer.Span.CopyTo(tOutput);
        });
        var med = Bench.Median(times);
        Line($"| ORT defaults, NamedOnnxValue | {med:F2} | | | {tb * 1000 / med:F0} |");
    }
    BackendOptions? best = null; double bestMs = double.MaxValue;
    foreach (var (setName, setOptions) in opts.OptionSets)
    {
        try
        {
            using var session = BackendRegistry.Default.CreateSession(model, gpu, setOptions);
            var timings = new List<RunTiming>();
            for (int i = 0; i < opts.Warmup; i++) session.Run(tInput.Data, tOutput, tb);
            for (int i = 0; i < opts.Repeats; i++) timings.Add(session.Run(tInput.Data, tOutput, tb));
            var total = Bench.Median(timings.Select(t => t.TotalMs));
            Line($"| engine CUDA session `{setName}` ({setOptions.Key}) | {total:F2} | {Bench.Median(timings.Select(t => t.ExecMs)):F2} | {Bench.Median(timings.Select(t => t.IoMs)):F2} | {tb * 1000 / total:F0} |");
            if (total < bestMs) { bestMs = total; best = setOptions; }
        }
        catch (Exception ex)
        {
            Line($"| engine CUDA session `{setName}` ({setOptions.Key}) | failed: {ex.GetType().Name}: {Bench.OneLine(ex.Message)} | | | |");
        }
    }
    var gpuOptions = best ?? BackendOptions.Default;
    foreach (var parts in new[] { 2, 4 })
    {
        var pipeOptions = BackendOptions.Parse(string.Join(";", gpuOptions.Settings.Where(kv => kv.Key != "enable_cuda_graph").Select(kv => kv.Key + "=" + kv.Value)));
        using var session = BackendRegistry.Default.CreateSession(model, gpu, pipeOptions);
        var sizes = Enumerable.Repeat(tb / parts, parts).ToArray();
        sizes[^1] += tb - sizes.Sum();
        var pipe = (IChunkPipelineSession)session;
        for (int i = 0; i < opts.Warmup; i++) pipe.RunChunks(tInput.Data, tOutput, sizes);
        var walls = Bench.Time(0, opts.Repeats, () => pipe.RunChunks(tInput.Data, tOutput, sizes));
        var med = Bench.Median(walls);
        Line($"| engine CUDA session, pipelined {parts} chunks of {sizes[0]} ({pipeOptions.Key}) | {med:F2} | | | {tb * 1000 / med:F0} |");
        if (med < bestMs) { bestMs = med; gpuOptions = pipeOptions; }
    }
    // fp16 (-Precision Half): the same network converted, fp32 in and out.
    try
    {
        var half = HalfPrecision.ToHalf(model, opts.Cache);
        using var hs = BackendRegistry.Default.CreateSession(half, gpu, gpuOptions);
        var hOut = PinnedArrays.Allocate(tb * model.OutputElementsPerItem);
        var timings = new List<RunTiming>();
        for (int i = 0; i < opts.Warmup; i++) hs.Run(tInput.Data, hOut, tb);
        for (int i = 0; i < opts.Repeats; i++) timings.Add(hs.Run(tInput.Data, hOut, tb));
        var total = Bench.Median(timings.Select(t => t.TotalMs));
        using var ss = BackendRegistry.Default.CreateSession(model, gpu, BackendOptions.Parse(gpuOptions.Key + ";use_tf32=0"));
        var sOut = PinnedArrays.Allocate(tb * model.OutputElementsPerItem);
        ss.Run(tInput.Data, sOut, tb);
        hs.Run(tInput.Data, hOut, tb);
        Line($"| engine CUDA session, **fp16** ({gpuOptions.Key}) | {total:F2} | {Bench.Median(timings.Select(t => t.ExecMs)):F2} | {Bench.Median(timings.Select(t => t.IoMs)):F2} | {tb * 1000 / total:F0} |");
        Line();
        Line($"fp16 against fp32 (use_tf32=0) on the GPU, batch {tb}: max|a−b|/max|b| = {Bench.ScaleRel(hOut, sOut):E2}, relative L2 {Bench.L2Rel(hOut, sOut):E2} (goal ≤ 1e-2).");
    }
    catch (Exception ex)
    {
        Line($"| engine CUDA session, fp16 | failed: {ex.GetType().Name}: {Bench.OneLine(ex.Message)} | | | |");
    }
    Line();
    Line($"Chosen GPU options: `{gpuOptions.Key}`; CPU options beside the GPU: `{cpuOptions.Key}`.");
    Line();

    // --- 3/4. profile, plan, run ---
    var rows = new List<PerfEntry>();
    var profiler = new BatchProfiler(BackendRegistry.Default);
    var clock = Stopwatch.StartNew();
    foreach (var g in gpus)
        rows.AddRange(profiler.Profile(model, g, new ProfileOptions { BackendOptions = gpuOptions, Refine = true, MaxBatchSize = Math.Max(129, opts.Batch) }));
    var gpuProfileS = clock.Elapsed.TotalSeconds;
    clock.Restart();
    if (pair.Contains(cpu)) rows.AddRange(profiler.Profile(model, cpu, new ProfileOptions
    {
        BackendOptions = cpuOptions, Refine = false, MaxBatchSize = opts.CpuMax, Repeats = 3, WarmupRuns = 1,
        MaxSecondsPerRun = 4, MaxSecondsPerPoint = 8,
    }));
    Line($"Profiled {gpu.Id} in {gpuProfileS:F0} s and {cpu.Id} in {clock.Elapsed.TotalSeconds:F0} s ({rows.Count} points).");
    Line();
    Line("| batch | " + string.Join(" | ", pair.Select(u => u.Id + " ms")) + $" | {gpu.Id} exec / host→device / device→host ms |");
    Line("| --- | " + string.Join(" | ", pair.Select(_ => "---")) + " | --- |");
    foreach (var b in rows.Select(r => r.BatchSize).Distinct().OrderBy(b => b))
    {
        var g = rows.FirstOrDefault(r => r.Unit == gpu.Id && r.BatchSize == b && r.Status == PerfStatus.Ok);
        Line($"| {b} | " + string.Join(" | ", pair.Select(u => rows.FirstOrDefault(r => r.Unit == u.Id && r.BatchSize == b) is { } r ? (r.Status == PerfStatus.Ok ? $"{r.TotalMs:F2}" : r.Status) : ""))
             + (g is null ? " | |" : $" | {g.ExecMs:F2} / {g.HostToDeviceMs:F3} / {g.DeviceToHostMs:F3} |"));
    }
    Line();

    int n = opts.Batch;
    var input = BatchInputLoader.Synthetic(model.InputItemShape, n, seed: 5);
    BatchPlan PlanFor(IReadOnlyList<ComputeUnit> over) => BatchPlanner.Plan(rows, new PlanRequest
    {
        Model = model.Name, ModelHash = model.Hash, BatchSize = n, Units = over.Select(u => u.Id).ToArray(),
        MachineName = Environment.MachineName,
    });
    var hetero = PlanFor(pair);
    var gpuOnly = PlanFor(new[] { gpu });
    (double Median, InferenceResult Last) Run(BatchPlan plan, IReadOnlyList<ComputeUnit> over)
    {
        InferenceResult? last = null;
        var walls = new List<double>();
        for (int i = 0; i < opts.Warmup + opts.Repeats; i++)
        {
            last = HeteroExecutor.Default.Execute(new ExecutionRequest { Plan = plan, Model = model, Units = over, Input = input, UnitOptions = budget.ToDictionary(kv => kv.Key, kv => gpus.Any(g => g.Id == kv.Key) ? gpuOptions : kv.Value) });
            if (i >= opts.Warmup) walls.Add(last.WallMs);
        }
        return (Bench.Median(walls), last!);
    }
    var (gpuWall, _) = Run(gpuOnly, new[] { gpu });
    var gpuBudget = budget;
    var (hetWall, hetLast) = Run(hetero, pair);
    // Each unit at its best measured throughput: any profiled point, and for the GPU measured above also its
    // run of all N items and its best fp32 run at the throughput batch. That makes the ideal an upper bound
    // (no split can beat it); the GPU's all-N run alone is below its best and gave "ideals" over 100 %.
    double Throughput(string unit)
    {
        double best = rows.Where(r => r.Unit == unit && r.Status == PerfStatus.Ok).Select(r => r.ItemsPerSecond).DefaultIfEmpty(0).Max();
        return unit == gpu.Id ? Math.Max(best, Math.Max(n * 1000.0 / gpuWall, tb * 1000.0 / bestMs)) : best;
    }
    var used = hetero.Shares.Where(s => s.Items > 0).Select(s => s.Unit).ToArray();
    var ideal = n * 1000.0 / used.Sum(Throughput);
    var idealBoth = n * 1000.0 / pair.Sum(u => Throughput(u.Id));
    Line($"### Batch {n} across {string.Join(" + ", pair.Select(u => u.Id))} (Optimal plan, {opts.Repeats} runs, medians)");
    Line();
    Line("| unit | items | executed batch sizes | predicted ms | actual ms (last run) |");
    Line("| --- | --- | --- | --- | --- |");
    foreach (var s in hetero.Shares)
    {
        var rep = hetLast.Units.FirstOrDefault(u => u.Unit == s.Unit);
        Line($"| {s.Unit} | {s.Items} | {string.Join(",", s.ExecutedBatchSizes)} | {s.PredictedMs:F2} | {rep?.ActualMs:F2} |");
    }
    Line();
    Line($"- GPU alone (engine, best chunking): {gpuWall:F2} ms (predicted {gpuOnly.PredictedMs:F2})");
    Line($"- heterogeneous: {hetWall:F2} ms (predicted {hetero.PredictedMs:F2}, off by {(hetWall / hetero.PredictedMs - 1) * 100:+0.0;-0.0} %)");
    Line($"- speedup over the GPU alone: {gpuWall / hetWall:F3}x");
    Line($"- ideal N / Σ best measured throughput of the units used ({string.Join(", ", used)}): {ideal:F2} ms → {ideal / hetWall * 100:F1} % of ideal; over all units offered: {idealBoth:F2} ms → {idealBoth / hetWall * 100:F1} %");
    Line();

    // --- 5. correctness ---
    int cn = Math.Min(8, n);
    var cInput = BatchInputLoader.Synthetic(model.InputItemShape, cn, seed: 11);
    float[] Out(ComputeUnit u, BackendOptions o)
    {
        var outp = new float[cn * model.OutputElementsPerItem];
        BackendRegistry.Default.OpenSession(model, u, o).Run(cInput.Data, outp, cn);
        return outp;
    }
    var oCpu = Out(cpu, cpuOptions);
    var oGpu = Out(gpu, gpuOptions);
    var fp32 = BackendOptions.Parse(string.Join(";", gpuOptions.Settings.Where(kv => kv.Key is not "use_tf32" and not "enable_cuda_graph").Select(kv => kv.Key + "=" + kv.Value).Append("use_tf32=0")));
    var oGpu32 = Out(gpu, fp32);
    var evenPlan = new BatchPlan
    {
        Model = model.Name, ModelHash = model.Hash, BatchSize = cn, Algorithm = PlanAlgorithm.Even, PredictedMs = 0, BestSingleUnit = gpu.Id, BestSingleUnitMs = 0,
        Shares = new[]
        {
            new UnitShare { Unit = gpu.Id, Items = cn / 2, Offset = 0, ExecutedBatchSizes = new[] { cn / 2 } },
            new UnitShare { Unit = cpu.Id, Items = cn - cn / 2, Offset = cn / 2, ExecutedBatchSizes = new[] { cn - cn / 2 } },
        },
    };
    var split = HeteroExecutor.Default.Execute(new ExecutionRequest { Plan = evenPlan, Model = model, Units = new[] { gpu, cpu }, Input = cInput, UnitOptions = budget.ToDictionary(kv => kv.Key, kv => kv.Key == gpu.Id ? gpuOptions : kv.Value) });
    var oSplit = split.GetOutput()!.ToArray();
    Line($"### Correctness ({cn} items): max |a−b| / max |b| (relative to the output's scale), and the element-wise max |a−b| / max(|b|, 1e-3·max|b|)");
    Line($"- GPU ({gpuOptions.Key}, TF32 allowed) vs CPU: {Bench.ScaleRel(oGpu, oCpu):E2} (element-wise {Bench.MaxRel(oGpu, oCpu):E2})");
    Line($"- GPU with use_tf32=0 vs CPU: {Bench.ScaleRel(oGpu32, oCpu):E2} (element-wise {Bench.MaxRel(oGpu32, oCpu):E2})");
    Line($"- split (gpu0 + cpu) vs CPU: {Bench.ScaleRel(oSplit, oCpu):E2}; split vs GPU: {Bench.ScaleRel(oSplit, oGpu):E2}");
    Line($"- relative L2 error ‖a−b‖/‖b‖: GPU (TF32) vs CPU {Bench.L2Rel(oGpu, oCpu):E2}, GPU fp32 vs CPU {Bench.L2Rel(oGpu32, oCpu):E2}, split vs CPU {Bench.L2Rel(oSplit, oCpu):E2}");
    Line();

    // --- 6. overhead: executor (one unit) vs bare session run of the same share ---
    var one = gpuOnly.Shares.First(s => s.Unit == gpu.Id);
    var shared = BackendRegistry.Default.OpenSession(model, gpu, gpuOptions);
    var bareOut = PinnedArrays.Allocate(n * model.OutputElementsPerItem);
    var execTimes = new List<double>(); var bareTimes = new List<double>();
    for (int i = 0; i < opts.Warmup + opts.Repeats; i++)
    {
        var sw = Stopwatch.StartNew();
        // The bare way runs the same chunks through the session itself (pipelined when the session can).
        var full = one.ExecutedBatchSizes.Sum() == n ? one.ExecutedBatchSizes : null;
        if (full is { Length: > 1 }) ((IChunkPipelineSession)shared).RunChunks(input.Data, bareOut, full);
        else
        {
            int offset = 0;
            foreach (var size in one.ExecutedBatchSizes)
            {
                int real = Math.Min(size, n - offset);
                shared.Run(input.Slice(offset, real), bareOut.AsMemory(offset * model.OutputElementsPerItem, real * model.OutputElementsPerItem), real);
                offset += real;
            }
        }
        var bareMs = sw.Elapsed.TotalMilliseconds;
        var r = HeteroExecutor.Default.Execute(new ExecutionRequest { Plan = gpuOnly, Model = model, Units = new[] { gpu }, Input = input, UnitOptions = new Dictionary<string, BackendOptions> { [gpu.Id] = gpuOptions } });
        if (i >= opts.Warmup) { bareTimes.Add(bareMs); execTimes.Add(r.WallMs); }
    }
    var ovh = Bench.Median(execTimes) / Bench.Median(bareTimes) - 1;
    Line($"### Executor overhead on {gpu.Id}, batch {n} as {string.Join(",", one.ExecutedBatchSizes)}: executor {Bench.Median(execTimes):F2} ms vs bare session {Bench.Median(bareTimes):F2} ms → {ovh * 100:+0.00;-0.00} %");
    Line();
    File.WriteAllText(opts.Out, md.ToString());
}
File.WriteAllText(opts.Out, md.ToString());
return 0;

static class Bench
{
    public static List<double> Time(int warmup, int repeats, Action action)
    {
        for (int i = 0; i < warmup; i++) action();
        var list = new List<double>();
        for (int i = 0; i < repeats; i++) { var sw = Stopwatch.StartNew(); action(); list.Add(sw.Elapsed.TotalMilliseconds); }
        return list;
    }

    public static double Median(IEnumerable<double> values)
    {
        var s = values.OrderBy(v => v).ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    public static double MaxRel(float[] a, float[] b)
    {
        double scale = b.Max(v => Math.Abs((double)v));
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
            worst = Math.Max(worst, Math.Abs(a[i] - (double)b[i]) / Math.Max(Math.Abs((double)b[i]), 1e-3 * scale));
        return worst;
    }

    public static double ScaleRel(float[] a, float[] b)
    {
        double scale = b.Max(v => Math.Abs((double)v)), worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - (double)b[i]));
        return worst / scale;
    }

    public static double L2Rel(float[] a, float[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++) { num += (a[i] - (double)b[i]) * (a[i] - (double)b[i]); den += (double)b[i] * b[i]; }
        return Math.Sqrt(num / den);
    }

    public static string OneLine(string s) => s.Replace('\n', ' ').Replace('|', '/');
}

sealed class BenchArgs
{
    public string[] Models { get; private set; } = { "resnet-50" };
    public int Batch { get; private set; } = 100;
    public int ThroughputBatch { get; private set; } = 128;
    public int Repeats { get; private set; } = 15;
    public int Warmup { get; private set; } = 3;
    public int CpuMax { get; private set; } = 33;
    public string Gpu { get; private set; } = "gpu0";
    public string[] Units { get; private set; } = { "gpu0", "cpu" };
    public string Out { get; private set; } = "gpu-bench.md";
    public string? Cache { get; private set; }
    public List<(string Name, BackendOptions Options)> OptionSets { get; } = new();

    public static BenchArgs Parse(string[] args)
    {
        var a = new BenchArgs();
        string sets = "defaults:;nhwc:prefer_nhwc=1;nhwc-ws:prefer_nhwc=1,cudnn_conv_use_max_workspace=1;nhwc-graph:prefer_nhwc=1,enable_cuda_graph=1";
        for (int i = 0; i < args.Length; i++)
        {
            string V() => args[++i];
            switch (args[i])
            {
                case "--models": a.Models = V().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                case "--batch": a.Batch = int.Parse(V()); break;
                case "--tput-batch": a.ThroughputBatch = int.Parse(V()); break;
                case "--repeats": a.Repeats = int.Parse(V()); break;
                case "--warmup": a.Warmup = int.Parse(V()); break;
                case "--cpu-max": a.CpuMax = int.Parse(V()); break;
                case "--gpu": a.Gpu = V(); break;
                case "--units": a.Units = V().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                case "--out": a.Out = V(); break;
                case "--cache": a.Cache = V(); break;
                case "--option-sets": sets = V(); break;
                default: throw new ArgumentException("unknown argument " + args[i]);
            }
        }
        foreach (var set in sets.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = set.IndexOf(':');
            a.OptionSets.Add((set[..colon], BackendOptions.Parse(set[(colon + 1)..].Replace(',', ';'))));
        }
        return a;
    }
}
