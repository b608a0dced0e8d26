using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Invoke-HeteroInference's engine in one call: resolve the model and units → load and check the input →
/// make sure the perf table knows every unit (profiling the missing ones, saved to the table, unless
/// NoAutoProfile) → plan (or check the given plan) → run across the units → write the output → fold the
/// measured times back into the table. The stages are <see cref="PipelineRun{TMissing}"/>'s, the same across
/// machines; this class holds the steps the units of one machine need (resolving units, the table's rows for
/// them, profiling them, the measured rows).
/// </summary>
public static class InferencePipeline
{
    /// <summary>Runs <paramref name="request"/>, reporting progress only. Throws <see cref="HeteroBatchException"/> (ModelNotFound,
    /// UnitNotFound, UnitNotAvailable, the input ErrorIds, MissingProfile, InvalidPlan, ItemsNotComputed, OutputWriteFailed, ...)
    /// or <see cref="OperationCanceledException"/>.</summary>
    public static InferenceResult Run(InferenceRequest request, IProgress<ExecutionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunWith(request, PipelineServices.Default, OutputWriters.ProgressOnly(progress), cancellationToken);

    /// <summary>Runs <paramref name="request"/>, telling <paramref name="output"/> what it decides and why (verbose), what it
    /// handled (warnings) and its progress. Throws as the other overload.</summary>
    public static InferenceResult Run(InferenceRequest request, IOutputWriter output, CancellationToken cancellationToken = default) =>
        RunWith(request, PipelineServices.Default, output, cancellationToken);

    internal static InferenceResult RunWith(InferenceRequest request, PipelineServices services, IOutputWriter? output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new UnitPipelineRun(request, services, output ?? OutputWriters.None, cancellationToken).Run();
    }

    /// <summary>
    /// What a run has before it plans: the resolved model (fp16 with <see cref="ModelPrecision.Half"/>), the units with
    /// the options they run with (CPU thread budgets after <see cref="InferenceRequest.ReservedCores"/>), and the perf
    /// table's rows for them, units the table lacked profiled first (or MissingProfile with NoAutoProfile). For callers
    /// that schedule the units themselves; <paramref name="request"/>'s input is not read.
    /// </summary>
    internal static UnitRows Prepare(InferenceRequest request, int batchSize, IOutputWriter? output, CancellationToken cancellationToken) =>
        new UnitPipelineRun(request, PipelineServices.Default, output ?? OutputWriters.None, cancellationToken).Prepare(batchSize);

    /// <summary>The model a run's options name: resolved (zoo name or path, in the options' model cache), and converted
    /// to fp16 with <see cref="ModelPrecision.Half"/>.</summary>
    internal static ModelInfo ResolveModel(RunOptions options, CancellationToken cancellationToken)
    {
        var model = ModelResolver.Resolve(options.Model, options.ModelCacheDirectory, null, cancellationToken);
        return options.Precision == ModelPrecision.Half ? HalfPrecision.ToHalf(model, options.ModelCacheDirectory, cancellationToken) : model;
    }

    /// <summary>The pipeline after resolving: a machine running its slice of a cross-machine run enters here with the
    /// model and units it resolved once.</summary>
    internal static InferenceResult RunResolved(InferenceRequest request, ModelInfo model, IReadOnlyList<ComputeUnit> units, PipelineServices services,
        IOutputWriter output, CancellationToken cancellationToken) =>
        new UnitPipelineRun(request, services, output, cancellationToken, (model, units)).Run();

    /// <summary>
    /// The units a request names: ids found by <see cref="ComputeUnitDiscovery"/>; CPU slice ids (<c>cpu:1</c>) derived
    /// from their CPU; with <see cref="RunOptions.CpuSlices"/> above 1, the CPU replaced by its slices.
    /// Throws UnitNotFound, UnitNotAvailable, NoUnits.
    /// </summary>
    public static IReadOnlyList<ComputeUnit> ResolveUnits(RunOptions request)
    {
        // Ids may name this machine (thismachine/gpu0); another machine's units are reached through remoting.
        var ids = request.Units?.Where(s => !string.IsNullOrWhiteSpace(s)).Select(ComputeUnitCatalog.LocalId).ToList() ?? new List<string>();
        var units = new List<ComputeUnit>();
        if (ids.Count == 0)
        {
            units.AddRange(ComputeUnitDiscovery.Discover().Where(u => u.Available));
            if (units.Count == 0)
                throw new HeteroBatchException(ExecutionErrorIds.NoUnits, ErrorKind.ResourceUnavailable,
                    "No compute unit of this machine is available. Run Get-ComputeUnit to see why.");
        }
        else
        {
            // Slices asked by id: cpu:0 and cpu:3 make the CPU into 4 slices.
            var sliceCounts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var id in ids)
                if (ThreadBudget.TryParseSlice(id, out var baseId, out var n) && !IsDiscovered(id))
                    sliceCounts[baseId] = Math.Max(sliceCounts.GetValueOrDefault(baseId), n + 1);
            foreach (var id in ids)
            {
                if (ThreadBudget.TryParseSlice(id, out var baseId, out _) && !IsDiscovered(id))
                {
                    var whole = ComputeUnitDiscovery.Find(baseId);
                    if (whole.Kind != ComputeUnitKind.Cpu) ComputeUnitDiscovery.Find(id); // throws UnitNotFound for the id asked
                    CheckAvailable(whole);
                    int count = Math.Max(sliceCounts[baseId], request.CpuSlices);
                    units.Add(ThreadBudget.SplitCpu(whole, count).Single(s => string.Equals(s.Id, id, StringComparison.OrdinalIgnoreCase)));
                }
                else units.Add(ComputeUnitDiscovery.Find(id));
            }
        }
        foreach (var u in units) CheckAvailable(u);
        if (request.CpuSlices > 1)
            units = units.SelectMany(u => u.Kind == ComputeUnitKind.Cpu && !ThreadBudget.IsSlice(u) ? ThreadBudget.SplitCpu(u, request.CpuSlices) : new[] { u }).ToList();
        else if (request.CpuSlices < 1)
            throw new HeteroBatchException(ExecutionErrorIds.InvalidCpuSlices, ErrorKind.InvalidArgument, $"CpuSlices must be 1 or more, not {request.CpuSlices}.", request.CpuSlices);
        return units.DistinctBy(u => u.Id, StringComparer.OrdinalIgnoreCase).ToArray();

        static bool IsDiscovered(string id) => ComputeUnitDiscovery.Discover().Any(u => string.Equals(u.Id, id, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The machine's best single unit when the run's CPU units are slices: the plan compares slices only (a
    /// one-thread slice "alone"), while the baseline a split is worth measuring against is the whole CPU. Predicted
    /// from the table's rows for the whole CPU with the options a run on it would use; null when no slice ran or
    /// the table has no such rows (nothing is profiled for it).
    /// </summary>
    internal static (string Unit, double Ms)? WholeCpuBaseline(RunOptions request, ModelInfo model, IReadOnlyList<ComputeUnit> units,
        int batchSize, BatchPlan plan, PipelineServices services, CancellationToken cancellationToken)
    {
        var sliced = units.Where(ThreadBudget.IsSlice).Select(u => { ThreadBudget.TryParseSlice(u.Id, out var b, out _); return (Base: b, u.MachineName); })
            .Distinct().ToList();
        if (sliced.Count == 0) return null;
        var wholes = ComputeUnitDiscovery.Discover()
            .Where(u => u.Available && sliced.Any(s => string.Equals(s.Base, u.Id, StringComparison.OrdinalIgnoreCase)
                                                      && string.Equals(s.MachineName, u.MachineName, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        if (wholes.Count == 0) return null;
        // The units of the same run with each sliced CPU whole again: their options are what a run on it profiles with.
        var unsliced = units.Where(u => !ThreadBudget.IsSlice(u)).Concat(wholes).DistinctBy(u => u.Id, StringComparer.OrdinalIgnoreCase).ToList();
        var options = ThreadBudget.OptionsFor(unsliced, request.BackendOptions);
        var table = new PerfTableStore(request.PerfTablePath).Read();
        var candidates = new List<(string Unit, double Ms)>();
        foreach (var whole in wholes)
        {
            var rows = RowsFor(table, model, new[] { whole }, options).Where(r => r.Status == PerfStatus.Ok).ToList();
            if (rows.Count == 0) continue;
            var alone = services.Plan(new PlanInputs(model, batchSize, new[] { whole }, rows, PlanAlgorithm.Optimal), cancellationToken);
            if (double.IsFinite(alone.BestSingleUnitMs) && alone.BestSingleUnitMs > 0) candidates.Add((alone.BestSingleUnit, alone.BestSingleUnitMs));
        }
        if (candidates.Count == 0) return null;
        // The plan's own best (a GPU, or a slice) still wins when it is faster than the whole CPU.
        if (!string.IsNullOrEmpty(plan.BestSingleUnit) && double.IsFinite(plan.BestSingleUnitMs) && plan.BestSingleUnitMs > 0)
            candidates.Add((plan.BestSingleUnit, plan.BestSingleUnitMs));
        return candidates.MinBy(c => c.Ms);
    }

    private static void CheckAvailable(ComputeUnit unit)
    {
        if (!unit.Available)
            throw new HeteroBatchException(ExecutionErrorIds.UnitNotAvailable, ErrorKind.ResourceUnavailable,
                $"Unit '{unit.Id}' ({unit.Name}) cannot be used: {unit.Reason ?? "it is not available"}.", unit.Id);
    }

    /// <summary>The table rows that describe <paramref name="units"/> running <paramref name="model"/> with the options of this run.</summary>
    internal static IReadOnlyList<PerfEntry> RowsFor(IEnumerable<PerfEntry> table, ModelInfo model, IReadOnlyList<ComputeUnit> units, IReadOnlyDictionary<string, BackendOptions> options)
    {
        var rows = table.ForModel(model).ToList();
        // Rows with the model's hash win over imported hash-less rows of the same name.
        return units.SelectMany(u =>
        {
            var mine = rows.Where(r => SameUnit(r, u) && BackendOptions.Parse(r.BackendOptions).Key == options[u.Id].Key).ToList();
            return mine.Any(r => r.ModelHash.Length > 0) ? mine.Where(r => r.ModelHash.Length > 0) : mine;
        }).ToArray();
    }

    internal static bool SameUnit(PerfEntry row, ComputeUnit unit) =>
        string.Equals(row.Unit, unit.Id, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(row.MachineName, unit.MachineName, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The profiling stage, for a run's missing units and for a machine profiling its units for another: each unit with
    /// its own backend options; <paramref name="keep"/> hears every row as soon as it is measured.
    /// </summary>
    internal static void ProfileUnits(ModelInfo model, IReadOnlyList<ComputeUnit> units, IReadOnlyDictionary<string, BackendOptions> options,
        ProfileOptions profileOptions, Action<PerfEntry> keep, IProgress<ProfileProgress>? progress, CancellationToken cancellationToken)
    {
        // Over the shared sessions, opened once for the run too; it records a session's open cost when it opens it.
        var profiler = new BatchProfiler(BackendRegistry.Default);
        foreach (var unit in units)
        {
            var unitOptions = options.FirstOrDefault(kv => string.Equals(kv.Key, unit.Id, StringComparison.OrdinalIgnoreCase)).Value ?? BackendOptions.Default;
            // On this thread, not the unit's worker: a CUDA session's graphs are per host thread, so the run warms its own
            // on the worker in its setup (reported apart). Replaying graphs the profile captured on the worker crashed
            // MobileNetV2 fp16 on an H200 (CUDA error 700, bench/results/gpu-h200-session2-2026-12-01.md).
            foreach (var entry in profiler.Profile(model, unit, profileOptions with { BackendOptions = unitOptions }, progress, cancellationToken))
                keep(entry);
        }
    }

    /// <summary>A profiling unit's progress as the run's progress.</summary>
    internal static IProgress<ProfileProgress>? ProfilingProgress(IProgress<ExecutionProgress>? progress, IReadOnlyList<ComputeUnit> units) =>
        progress is null ? null : new CallbackProgress<ProfileProgress>(p =>
        {
            int index = Math.Max(0, units.ToList().FindIndex(u => string.Equals(u.Id, p.Unit, StringComparison.OrdinalIgnoreCase)));
            progress.Report(new ExecutionProgress
            {
                Stage = ExecutionStage.Profiling,
                Activity = $"profiling {p.Unit} ({index + 1} of {units.Count}), batch {p.BatchSize}",
                PercentComplete = (int)p.PercentComplete,
            });
        });

    /// <summary>Per unit and batch size, the mean of the chunk times measured in the run, as rows to fold (a row's times are
    /// means, as the profiler writes them).</summary>
    internal static IReadOnlyList<PerfEntry> MeasuredEntries(InferenceResult result, ModelInfo model, IReadOnlyList<ComputeUnit> units, IReadOnlyDictionary<string, BackendOptions> options)
    {
        var list = new List<PerfEntry>();
        foreach (var report in result.Units.Where(r => !r.Failed && r.Chunks.Count > 0))
        {
            var unit = units.First(u => u.Id == report.Unit);
            foreach (var group in report.Chunks.GroupBy(c => c.BatchSize))
            {
                var exec = group.Select(c => c.ExecMs).ToArray();
                var io = group.Select(c => c.IoMs).ToArray();
                list.Add(new PerfEntry
                {
                    Model = model.Name,
                    ModelHash = model.Hash,
                    MachineName = unit.MachineName,
                    Unit = unit.Id,
                    DeviceName = unit.Name,
                    Backend = unit.Backend,
                    BackendOptions = options[unit.Id].Key,
                    BatchSize = group.Key,
                    ExecMs = exec.Average(),
                    IoMs = io.Average(),
                    Repeats = exec.Length,
                    Status = PerfStatus.Ok,
                    Timestamp = DateTimeOffset.UtcNow,
                });
            }
        }
        return list;
    }

    private sealed class CallbackProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
