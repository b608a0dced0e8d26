using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>The pipeline's stages over the units of this machine (a run of Invoke-HeteroInference, or one machine's
/// slice of a cross-machine run, which enters with the model and units it resolved).</summary>
internal sealed class UnitPipelineRun : PipelineRun<ComputeUnit>
{
    private readonly InferenceRequest _request;
    private readonly PipelineServices _services;
    private ModelInfo _model = null!;
    private IReadOnlyList<ComputeUnit> _units = null!;
    private IReadOnlyDictionary<string, BackendOptions> _options = null!;
    private BatchInput? _input;
    private IReadOnlyList<PerfEntry> _rows = Array.Empty<PerfEntry>();
    private LeftOutUnit[] _leftOutCold = Array.Empty<LeftOutUnit>();
    // A machine's slice of a run across machines (entered resolved): see Plan.
    private readonly bool _isSlice;

    public UnitPipelineRun(InferenceRequest request, PipelineServices services, IOutputWriter output, CancellationToken cancellationToken,
        (ModelInfo Model, IReadOnlyList<ComputeUnit> Units)? resolved = null)
        : base(request, request.Plan, output, cancellationToken)
    {
        _request = request;
        _services = services;
        if (resolved is { } r) Use(r.Model, r.Units);
        _isSlice = resolved is not null;
    }

    private void Use(ModelInfo model, IReadOnlyList<ComputeUnit> units)
    {
        _model = model;
        _units = units;
        _options = ThreadBudget.OptionsFor(units, _request.BackendOptions,
            _request.ReservedCores > 0 ? Math.Max(1, Environment.ProcessorCount - _request.ReservedCores) : null);
    }

    /// <summary>
    /// The stages a run takes before it plans, without an input: resolve, then profile what the table lacks (or throw
    /// MissingProfile with NoAutoProfile), for callers that schedule the units themselves (a dataset stream's pull
    /// schedule). Returns the model, the units with their options, and the table's rows for them.
    /// </summary>
    public UnitRows Prepare(int batchSize)
    {
        Report(ExecutionStage.Resolving, ResolvingActivity);
        Resolve();
        CancellationToken.ThrowIfCancellationRequested();
        var store = ProfileMissing(batchSize);
        CancellationToken.ThrowIfCancellationRequested();
        _rows = RowsFor(store.Read());
        return new UnitRows(_model, _units, _options, _rows);
    }

    protected override string ModelName => _model.Name;

    protected override string ResolvingActivity => $"resolving {_request.Model}";

    protected override void Resolve()
    {
        if (_model is null) Use(InferencePipeline.ResolveModel(_request, CancellationToken), InferencePipeline.ResolveUnits(_request));
        Output.WriteVerbose($"Model '{_model!.Name}' ({_model.ShortHash}, {_model.Path}).");
        Output.WriteVerbose($"Units of this run: {string.Join(", ", _units.Select(u => $"{u.Id} ({u.Name}{(_options[u.Id].Key is { Length: > 0 } key ? $", options {key}" : "")})"))}" +
            (_request.Units is { Count: > 0 } ? " (as asked)." : " (every available unit)."));
        foreach (var failure in ComputeUnitDiscovery.ProbeFailures)
            Output.WriteWarning($"{failure} Units of that kind are left out; Get-ComputeUnit -Refresh probes again.");
        if (_request.Units is not { Count: > 0 })
            foreach (var skipped in ComputeUnitDiscovery.Discover().Where(u => !u.Available))
                Output.WriteVerbose($"Skipped unit {skipped.Id} ({skipped.Name}): {skipped.Reason ?? "not available"}.");
    }

    protected override int LoadInput()
    {
        _input = BatchInputLoader.Load(_request.Input, _model, CancellationToken);
        return _input.Count;
    }

    // Outputs never alias the input: its pooled buffer serves the next call.
    protected override void ReleaseInput()
    {
        if (_input is not null) BatchInputLoader.Release(_input);
    }

    protected override BatchPlan CheckPlan(BatchPlan plan, int batchSize)
    {
        PlanValidation.Check(plan, batchSize, _units, _model);
        // -WarmUp warms every size the table measured, with a given plan too.
        if (_request.WarmUp) _rows = RowsFor(new PerfTableStore(_request.PerfTablePath).Read());
        return plan;
    }

    protected override IReadOnlyList<ComputeUnit> Missing(IReadOnlyList<PerfEntry> table)
    {
        var rows = RowsFor(table);
        return _units.Where(u => !rows.Any(r => InferencePipeline.SameUnit(r, u) && r.Status == PerfStatus.Ok)).ToList();
    }

    protected override string Names(IReadOnlyList<ComputeUnit> missing) => string.Join(", ", missing.Select(u => u.Id));

    protected override HeteroBatchException MissingProfile(string tablePath, IReadOnlyList<ComputeUnit> missing) =>
        new(ExecutionErrorIds.MissingProfile, ErrorKind.ObjectNotFound,
            $"The perf table {tablePath} has no measurements of model '{_model.Name}' on {string.Join(", ", missing.Select(u => u.Id))} " +
            $"with options {string.Join(", ", missing.Select(u => $"'{_options[u.Id].Key}'"))}. Run Measure-BatchProfile for them, or leave out -NoAutoProfile.",
            string.Join(",", missing.Select(u => u.Id)));

    protected override void Profile(IReadOnlyList<ComputeUnit> missing, ProfileOptions profileOptions, Action<IReadOnlyList<PerfEntry>> keep) =>
        InferencePipeline.ProfileUnits(_model, missing, _options, profileOptions, entry => keep(new[] { entry }),
            InferencePipeline.ProfilingProgress(Progress, missing), CancellationToken);

    protected override string PlanningActivity(int batchSize) => $"planning {batchSize} items over {_units.Count} unit(s)";

    protected override BatchPlan Plan(IReadOnlyList<PerfEntry> table, int batchSize)
    {
        _rows = RowsFor(table);
        var inputs = new PlanInputs(_model, batchSize, _units, _rows, _request.Algorithm);
        // No cold unit is left out with -WarmUp (it warms every unit: the caller pays the setup to have them all), nor
        // for a caller running many batches (KeepColdUnits), nor in a machine's slice of a run across machines: the
        // coordinator sized the slice for all of the machine's units (and sends a local plan, never changed anyway).
        if (_request.WarmUp || _request.KeepColdUnits || _isSlice) return _services.Plan(inputs, CancellationToken);
        (var plan, _leftOutCold) = ColdUnitCheck.Plan(inputs, _options, _services, Output, CancellationToken);
        return plan;
    }

    protected override InferenceResult Execute(BatchPlan plan, bool planned)
    {
        var input = _input!;
        var executor = new HeteroExecutor(_services.Sessions, _services.ReplannerFor(new PlanInputs(_model, input.Count, _units, _rows, _request.Algorithm)));
        var warmSizes = _request.WarmUp
            ? _units.ToDictionary(u => u.Id, u => _rows.Where(r => InferencePipeline.SameUnit(r, u) && r.Status == PerfStatus.Ok).Select(r => r.BatchSize).Distinct().ToArray(),
                StringComparer.OrdinalIgnoreCase)
            : null;
        var result = executor.Run(new ExecutionRequest { Plan = plan, Model = _model, Units = _units, Input = input, UnitOptions = _options, WarmSizes = warmSizes },
            Output, CancellationToken);
        if (_leftOutCold.Length > 0) result = result with { LeftOutCold = _leftOutCold };
        if (planned && InferencePipeline.WholeCpuBaseline(_request, _model, _units, input.Count, plan, _services, CancellationToken) is { } best)
            result = result with { BestSingleUnit = best.Unit, BestSingleUnitMs = best.Ms };
        return result;
    }

    protected override IReadOnlyList<PerfEntry> Measured(InferenceResult result) => InferencePipeline.MeasuredEntries(result, _model, _units, _options);

    private IReadOnlyList<PerfEntry> RowsFor(IReadOnlyList<PerfEntry> table) => InferencePipeline.RowsFor(table, _model, _units, _options);
}
