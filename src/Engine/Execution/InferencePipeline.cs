using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>Everything Invoke-HeteroInference asks for, as one request to <see cref="InferencePipeline.Run"/>.</summary>
public sealed record InferenceRequest
{
    /// <summary>Zoo name or ONNX file path (see <see cref="ModelResolver"/>).</summary>
    public required string Model { get; init; }
    /// <summary>Model cache folder; null uses the default.</summary>
    public string? ModelCacheDirectory { get; init; }
    /// <summary>Unit ids (<c>cpu</c>, <c>gpu0</c>, CPU slices <c>cpu:0</c>, <c>cpu:1</c>); null or empty: every available unit.</summary>
    public IReadOnlyList<string>? Units { get; init; }
    /// <summary>Split the CPU into this many slices that run as separate units (see <see cref="ThreadBudget.SplitCpu"/>); 1 = whole.</summary>
    public int CpuSlices { get; init; } = 1;
    public required InputSource Input { get; init; }
    /// <summary>A plan to run as given (validated against the batch and units); null plans from the perf table.</summary>
    public BatchPlan? Plan { get; init; }
    public PlanAlgorithm Algorithm { get; init; } = PlanAlgorithm.Optimal;
    /// <summary>Perf table file; null uses the default table.</summary>
    public string? PerfTablePath { get; init; }
    /// <summary>Fail with <c>MissingProfile</c> instead of profiling units the table lacks.</summary>
    public bool NoAutoProfile { get; init; }
    /// <summary>How missing entries are profiled; its BackendOptions are replaced by each unit's run options, and
    /// without explicit BatchSizes the grid goes up to the batch size (at most 129).</summary>
    public ProfileOptions? ProfileOptions { get; init; }
    /// <summary>Fold the measured per-chunk times into the perf table (exponential moving average).</summary>
    public bool UpdatePerfTable { get; init; }
    /// <summary>Weight of the new measurement when folding (0–1].</summary>
    public double FoldWeight { get; init; } = PerfTableMerge.DefaultFoldWeight;
    /// <summary>Write the output tensor here as .npy (atomically); null writes nothing.</summary>
    public string? OutputPath { get; init; }
    /// <summary>Options for every unit; CPU units get their thread budget on top (see <see cref="ThreadBudget.OptionsFor"/>).</summary>
    public BackendOptions? BackendOptions { get; init; }
    /// <summary>Half runs the model's fp16 conversion (inputs and outputs stay fp32; see <see cref="HalfPrecision"/>).</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Single;
    /// <summary>Before the run, warm every batch size the table measured on each unit (not only the ones this plan runs),
    /// so later calls of any size pay no setup. The cost is reported in <see cref="InferenceResult.SetupMs"/>.</summary>
    public bool WarmUp { get; init; }
    /// <summary>Logical cores the caller keeps busy with other work (a dataset stream's decode workers): the CPU units'
    /// thread budget is computed as if the machine had that many fewer cores (at least 1 thread). 0 = none.</summary>
    public int ReservedCores { get; init; }
}

/// <summary>
/// Invoke-HeteroInference's engine in one call: resolve the model and units → load and check the input →
/// make sure the perf table knows every unit (profiling the missing ones, saved to the table, unless
/// NoAutoProfile) → plan (or check the given plan) → run across the units → write the output → fold the
/// measured times back into the table.
/// </summary>
public static class InferencePipeline
{
    /// <summary>Runs <paramref name="request"/>. Throws <see cref="HeteroBatchException"/> (ModelNotFound, UnitNotFound,
    /// UnitNotAvailable, the input ErrorIds, MissingProfile, InvalidPlan, ItemsNotComputed, OutputWriteFailed, ...)
    /// or <see cref="OperationCanceledException"/>.</summary>
    public static InferenceResult Run(InferenceRequest request, IProgress<ExecutionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunWith(request, PipelineServices.Default, progress, cancellationToken);

    internal static InferenceResult RunWith(InferenceRequest request, PipelineServices services, IProgress<ExecutionProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Report(progress, ExecutionStage.Resolving, $"resolving {request.Model}");
        var model = ModelResolver.Resolve(request.Model, request.ModelCacheDirectory, null, cancellationToken);
        if (request.Precision == ModelPrecision.Half) model = HalfPrecision.ToHalf(model, request.ModelCacheDirectory, cancellationToken);
        var units = ResolveUnits(request);
        var options = ThreadBudget.OptionsFor(units, request.BackendOptions,
            request.ReservedCores > 0 ? Math.Max(1, Environment.ProcessorCount - request.ReservedCores) : null);

        cancellationToken.ThrowIfCancellationRequested();
        Report(progress, ExecutionStage.LoadingInput, "loading input");
        var input = BatchInputLoader.Load(request.Input, model, cancellationToken);

        BatchPlan plan;
        IReadOnlyList<PerfEntry> rows = Array.Empty<PerfEntry>();
        if (request.Plan is not null)
        {
            PlanValidation.Check(request.Plan, input.Count, units, model);
            plan = request.Plan;
        }
        else
        {
            var store = new PerfTableStore(request.PerfTablePath);
            rows = RowsFor(store.Read(), model, units, options);
            var missing = units.Where(u => !rows.Any(r => SameUnit(r, u) && r.Status == PerfStatus.Ok)).ToList();
            if (missing.Count > 0)
            {
                if (request.NoAutoProfile)
                    throw new HeteroBatchException(ExecutionErrorIds.MissingProfile, ErrorKind.ObjectNotFound,
                        $"The perf table {store.Path} has no measurements of model '{model.Name}' on {string.Join(", ", missing.Select(u => u.Id))} " +
                        $"with options {string.Join(", ", missing.Select(u => $"'{options[u.Id].Key}'"))}. Run Measure-BatchProfile for them, or leave out -NoAutoProfile.",
                        string.Join(",", missing.Select(u => u.Id)));
                store.CheckWritable(); // a read-only table location fails now, not after profiling
                Profile(store, model, missing, options, input.Count, request.ProfileOptions, progress, cancellationToken);
                rows = RowsFor(store.Read(), model, units, options);
            }
            cancellationToken.ThrowIfCancellationRequested();
            Report(progress, ExecutionStage.Planning, $"planning {input.Count} items over {units.Count} unit(s)");
            plan = services.Plan(new PlanInputs(model, input.Count, units, rows, request.Algorithm), cancellationToken);
        }

        var executor = new HeteroExecutor(services.Sessions, services.ReplannerFor(new PlanInputs(model, input.Count, units, rows, request.Algorithm)));
        InferenceResult result;
        try
        {
            var warmSizes = request.WarmUp
                ? units.ToDictionary(u => u.Id, u => rows.Where(r => SameUnit(r, u) && r.Status == PerfStatus.Ok).Select(r => r.BatchSize).Distinct().ToArray(),
                    StringComparer.OrdinalIgnoreCase)
                : null;
            result = executor.Execute(new ExecutionRequest { Plan = plan, Model = model, Units = units, Input = input, UnitOptions = options, WarmSizes = warmSizes },
                progress, cancellationToken);
        }
        finally
        {
            // Outputs never alias the input: its pooled buffer serves the next call.
            BatchInputLoader.Release(input);
        }
        if (request.Plan is null && WholeCpuBaseline(request, model, units, input.Count, plan, services, cancellationToken) is { } best)
            result = result with { BestSingleUnit = best.Unit, BestSingleUnitMs = best.Ms };

        if (request.OutputPath is not null)
        {
            Report(progress, ExecutionStage.WritingOutput, $"writing {request.OutputPath}");
            var full = Path.GetFullPath(request.OutputPath);
            result.GetOutput()!.SaveNpy(full);
            result = result with { OutputPath = full };
        }
        if (request.UpdatePerfTable)
        {
            Report(progress, ExecutionStage.UpdatingTable, "folding measured times into the perf table");
            var measured = MeasuredEntries(result, model, units, options);
            if (measured.Count > 0) new PerfTableStore(request.PerfTablePath).Fold(measured, request.FoldWeight, cancellationToken: cancellationToken);
        }
        Report(progress, ExecutionStage.Done, "done", 100);
        return result;
    }

    /// <summary>
    /// The units a request names: ids found by <see cref="ComputeUnitDiscovery"/>; CPU slice ids (<c>cpu:1</c>) derived
    /// from their CPU; with <see cref="InferenceRequest.CpuSlices"/> above 1, the CPU replaced by its slices.
    /// Throws UnitNotFound, UnitNotAvailable, NoUnits.
    /// </summary>
    public static IReadOnlyList<ComputeUnit> ResolveUnits(InferenceRequest request)
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
            throw new HeteroBatchException("InvalidCpuSlices", ErrorKind.InvalidArgument, $"CpuSlices must be 1 or more, not {request.CpuSlices}.", request.CpuSlices);
        return units.DistinctBy(u => u.Id, StringComparer.OrdinalIgnoreCase).ToArray();

        static bool IsDiscovered(string id) => ComputeUnitDiscovery.Discover().Any(u => string.Equals(u.Id, id, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The machine's best single unit when the run's CPU units are slices: the plan compares slices only (a
    /// one-thread slice "alone"), while the baseline a split is worth measuring against is the whole CPU. Predicted
    /// from the table's rows for the whole CPU with the options a run on it would use; null when no slice ran or
    /// the table has no such rows (nothing is profiled for it).
    /// </summary>
    internal static (string Unit, double Ms)? WholeCpuBaseline(InferenceRequest request, ModelInfo model, IReadOnlyList<ComputeUnit> units,
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

    private static bool SameUnit(PerfEntry row, ComputeUnit unit) =>
        string.Equals(row.Unit, unit.Id, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(row.MachineName, unit.MachineName, StringComparison.OrdinalIgnoreCase);

    private static void Profile(PerfTableStore store, ModelInfo model, IReadOnlyList<ComputeUnit> missing, IReadOnlyDictionary<string, BackendOptions> options,
        int batchSize, ProfileOptions? profileOptions, IProgress<ExecutionProgress>? progress, CancellationToken cancellationToken)
    {
        var profiler = new BatchProfiler((m, u, o) => BackendRegistry.Default.OpenSession(m, u, o), disposeSessions: false);
        var baseOptions = profileOptions ?? new ProfileOptions();
        if (baseOptions.BatchSizes is null) baseOptions = baseOptions with { MaxBatchSize = Math.Clamp(batchSize, 1, 129) };
        for (int i = 0; i < missing.Count; i++)
        {
            var unit = missing[i];
            int index = i;
            var unitProgress = progress is null ? null : new CallbackProgress<ProfileProgress>(p => progress.Report(new ExecutionProgress
            {
                Stage = ExecutionStage.Profiling,
                Activity = $"profiling {p.Unit} ({index + 1} of {missing.Count}), batch {p.BatchSize}",
                PercentComplete = (int)p.PercentComplete,
            }));
            // Each row is saved as soon as it is measured (not cancellable), so Ctrl+C or a failure keeps every completed point.
            foreach (var entry in profiler.Profile(model, unit, baseOptions with { BackendOptions = options[unit.Id] }, unitProgress, cancellationToken))
                store.Merge(new[] { entry }, cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>Per unit and batch size, the median of the chunk times measured in the run, as rows to fold.</summary>
    internal static IReadOnlyList<PerfEntry> MeasuredEntries(InferenceResult result, ModelInfo model, IReadOnlyList<ComputeUnit> units, IReadOnlyDictionary<string, BackendOptions> options)
    {
        var list = new List<PerfEntry>();
        foreach (var report in result.Units.Where(r => !r.Failed && r.Chunks.Count > 0))
        {
            var unit = units.First(u => u.Id == report.Unit);
            foreach (var group in report.Chunks.GroupBy(c => c.BatchSize))
            {
                var exec = group.Select(c => c.ExecMs).Order().ToArray();
                var io = group.Select(c => c.IoMs).Order().ToArray();
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
                    ExecMs = Median(exec),
                    IoMs = Median(io),
                    Repeats = exec.Length,
                    Status = PerfStatus.Ok,
                    Timestamp = DateTimeOffset.UtcNow,
                });
            }
        }
        return list;

        static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void Report(IProgress<ExecutionProgress>? progress, ExecutionStage stage, string activity, int percent = -1) =>
        progress?.Report(new ExecutionProgress { Stage = stage, Activity = activity, PercentComplete = percent });

    private sealed class CallbackProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>What the planner is given: the model, the batch size, the units and their table rows for this run's options.</summary>
internal sealed record PlanInputs(ModelInfo Model, int BatchSize, IReadOnlyList<ComputeUnit> Units, IReadOnlyList<PerfEntry> Rows, PlanAlgorithm Algorithm);

/// <summary>The collaborators of the pipeline; tests replace the session provider to inject failures.</summary>
internal sealed record PipelineServices
{
    public required ISessionProvider Sessions { get; init; }
    public required Func<PlanInputs, CancellationToken, BatchPlan> Plan { get; init; }
    /// <summary>Re-planner of a run (from the rows it was planned with; none when a plan was given); null = the executor's default.</summary>
    public required Func<PlanInputs, Replanner?> ReplannerFor { get; init; }

    public static PipelineServices Default { get; } = new()
    {
        Sessions = CachedSessionProvider.Default,
        Plan = PlannerBridge.Plan,
        ReplannerFor = PlannerBridge.ReplannerFor,
    };
}
