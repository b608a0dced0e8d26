using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

/// <summary>
/// What a machine does for a cross-machine run, on that machine: describe its units, profile some of them, run a
/// slice of the batch with the engine's own pipeline (its local plan, its units' workers, re-planning a failed
/// unit's items over its other units). <see cref="LocalMachineRunner"/> calls it in process;
/// <see cref="RemoteEndpoint"/> calls it for a remote caller.
/// </summary>
public static class MachineShareService
{
    /// <summary>Version of this engine, as machines compare it.</summary>
    public static string EngineVersion { get; } =
        typeof(MachineShareService).Assembly.GetName().Version?.ToString() ?? "";

    /// <summary>The machine's units, and with a run's options: the model's facts (as the options resolve it: precision,
    /// model cache), the units a run would use and their options. Throws ModelNotFound…, UnitNotFound, UnitNotAvailable, NoUnits.</summary>
    public static MachineDescription Describe(MachineQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var clock = Stopwatch.StartNew();
        if (query.Refresh) ComputeUnitDiscovery.Discover(refresh: true);
        if (query.Options is not { } options)
        {
            return new MachineDescription
            {
                MachineName = Environment.MachineName, EngineVersion = EngineVersion, ProcessorCount = Environment.ProcessorCount,
                Units = ComputeUnitDiscovery.Discover().ToArray(), ElapsedMs = clock.Elapsed.TotalMilliseconds,
            };
        }

        var model = InferencePipeline.ResolveModel(options, cancellationToken);
        var (runUnits, unitOptions) = ResolveUnits(options);
        return new MachineDescription
        {
            MachineName = Environment.MachineName,
            EngineVersion = EngineVersion,
            ProcessorCount = Environment.ProcessorCount,
            Model = ModelFacts.From(model),
            Units = runUnits.ToArray(),
            UnitOptions = runUnits.ToDictionary(u => u.Id, u => unitOptions[u.Id].Key, StringComparer.OrdinalIgnoreCase),
            ElapsedMs = clock.Elapsed.TotalMilliseconds,
        };
    }

    /// <summary>Profiles the units named in <see cref="ProfileRequest.UnitOptions"/> with those options (the pipeline's own
    /// profiling stage); returns the rows (the caller keeps them in its table).</summary>
    public static IReadOnlyList<PerfEntry> Profile(ProfileRequest request, IProgress<ProfileProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = Resolve(request.Options, request.ModelHash, cancellationToken);
        var (units, _) = ResolveUnits(request.Options with { Units = request.UnitOptions.Keys.ToArray() });
        var options = units.ToDictionary(u => u.Id,
            u => BackendOptions.Parse(request.UnitOptions.First(kv => string.Equals(kv.Key, u.Id, StringComparison.OrdinalIgnoreCase)).Value),
            StringComparer.OrdinalIgnoreCase);
        var rows = new List<PerfEntry>();
        var profileOptions = request.Options.ProfileOptions ?? new ProfileOptions();
        InferencePipeline.ProfileUnits(model, units, options, profileOptions, rows.Add, progress, cancellationToken);
        return rows;
    }

    /// <summary>Runs a slice with the machine's units: the engine's pipeline (<see cref="InferencePipeline"/>) over the
    /// slice's items with the run's options and the request's local plan (or a plan from the machine's table when it has
    /// none). The model and units are resolved once, here.</summary>
    public static ShareResult Run(ShareRequest request, float[]? tensor, IProgress<ExecutionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clock = Stopwatch.StartNew();
        var model = Resolve(request.Options, request.ModelHash, cancellationToken);
        var (units, options) = ResolveUnits(request.Options);
        // Writing the output and folding the table belong to the machine that started the run.
        var slice = new InferenceRequest(request.Options with { OutputPath = null, UpdatePerfTable = false }, request.Input.ToSource(tensor), request.Plan);
        var result = InferencePipeline.RunResolved(slice, model, units, PipelineServices.Default, OutputWriters.ProgressOnly(progress), cancellationToken);
        var output = result.GetOutput()!;
        return new ShareResult
        {
            MachineName = Environment.MachineName,
            FirstItem = request.FirstItem,
            Items = result.BatchSize,
            WallMs = clock.Elapsed.TotalMilliseconds,
            Units = result.Units,
            Measured = InferencePipeline.MeasuredEntries(result, model, units, options).ToArray(),
            OutputItemShape = output.ItemShape,
            Output = output.ToArray(),
        };
    }

    private static ModelInfo Resolve(RunOptions options, string expectedHash, CancellationToken cancellationToken)
    {
        var model = InferencePipeline.ResolveModel(options, cancellationToken);
        if (!string.IsNullOrEmpty(expectedHash) && !string.Equals(model.Hash, expectedHash, StringComparison.OrdinalIgnoreCase))
            throw new HeteroBatchException(DistributedErrorIds.ModelMismatch, ErrorKind.InvalidData,
                $"Model '{options.Model}' is {model.ShortHash} on {Environment.MachineName} ({model.Path}) but {(expectedHash.Length > 12 ? expectedHash[..12] : expectedHash)} " +
                "on the machine that planned the run. Give every machine the same model file (a shared path, or the same zoo name and module version).", options.Model);
        return model;
    }

    private static (IReadOnlyList<ComputeUnit> Units, IReadOnlyDictionary<string, BackendOptions> Options) ResolveUnits(RunOptions options)
    {
        var units = InferencePipeline.ResolveUnits(options);
        return (units, ThreadBudget.OptionsFor(units, options.BackendOptions));
    }
}
