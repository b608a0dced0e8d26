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

    /// <summary>The machine's units, and with a model: the model's facts, the units a run would use and their options.
    /// Throws ModelNotFound…, UnitNotFound, UnitNotAvailable, NoUnits.</summary>
    public static MachineDescription Describe(MachineQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var clock = Stopwatch.StartNew();
        if (query.Refresh) ComputeUnitDiscovery.Discover(refresh: true);
        if (string.IsNullOrWhiteSpace(query.Model))
        {
            var all = ComputeUnitDiscovery.Discover();
            var units = query.Units is { Length: > 0 } ids ? ids.Select(ComputeUnitDiscovery.Find).ToArray() : all.ToArray();
            return new MachineDescription
            {
                MachineName = Environment.MachineName, EngineVersion = EngineVersion, ProcessorCount = Environment.ProcessorCount,
                Units = units, ElapsedMs = clock.Elapsed.TotalMilliseconds,
            };
        }

        var model = ModelResolver.Resolve(query.Model, null, null, cancellationToken);
        var (runUnits, options) = ResolveUnits(query.Units, query.CpuSlices, query.BackendOptions);
        return new MachineDescription
        {
            MachineName = Environment.MachineName,
            EngineVersion = EngineVersion,
            ProcessorCount = Environment.ProcessorCount,
            Model = ModelFacts.From(model),
            Units = runUnits.ToArray(),
            UnitOptions = runUnits.ToDictionary(u => u.Id, u => options[u.Id].Key, StringComparer.OrdinalIgnoreCase),
            ElapsedMs = clock.Elapsed.TotalMilliseconds,
        };
    }

    /// <summary>Profiles the units named in <see cref="ProfileRequest.UnitOptions"/> with those options; returns the rows
    /// (the caller keeps them in its table).</summary>
    public static IReadOnlyList<PerfEntry> Profile(ProfileRequest request, IProgress<ProfileProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = Resolve(request.Model, request.ModelHash, cancellationToken);
        var (units, _) = ResolveUnits(request.UnitOptions.Keys.ToArray(), request.CpuSlices, "");
        var profiler = new BatchProfiler((m, u, o) => BackendRegistry.Default.OpenSession(m, u, o), disposeSessions: false);
        var baseOptions = request.Options ?? new ProfileOptions();
        var rows = new List<PerfEntry>();
        foreach (var unit in units)
        {
            var key = request.UnitOptions.First(kv => string.Equals(kv.Key, unit.Id, StringComparison.OrdinalIgnoreCase)).Value;
            rows.AddRange(profiler.Profile(model, unit, baseOptions with { BackendOptions = BackendOptions.Parse(key) }, progress, cancellationToken));
        }
        return rows;
    }

    /// <summary>Runs a slice with the machine's units: <see cref="InferencePipeline.Run"/> over the slice's items with
    /// the request's local plan (or a plan from the machine's table when it has none).</summary>
    public static ShareResult Run(ShareRequest request, float[]? tensor, IProgress<ExecutionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clock = Stopwatch.StartNew();
        var model = Resolve(request.Model, request.ModelHash, cancellationToken);
        var (units, options) = ResolveUnits(request.Units, request.CpuSlices, request.BackendOptions);
        var result = InferencePipeline.Run(new InferenceRequest
        {
            Model = request.Model,
            Units = units.Select(u => u.Id).ToArray(),
            Input = request.Input.ToSource(tensor),
            Plan = request.Plan,
            Algorithm = request.Algorithm,
            PerfTablePath = request.PerfTablePath,
            BackendOptions = BackendOptions.Parse(request.BackendOptions),
        }, progress, cancellationToken);
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

    private static ModelInfo Resolve(string nameOrPath, string expectedHash, CancellationToken cancellationToken)
    {
        var model = ModelResolver.Resolve(nameOrPath, null, null, cancellationToken);
        if (!string.IsNullOrEmpty(expectedHash) && !string.Equals(model.Hash, expectedHash, StringComparison.OrdinalIgnoreCase))
            throw new HeteroBatchException(DistributedErrorIds.ModelMismatch, ErrorKind.InvalidData,
                $"Model '{nameOrPath}' is {model.ShortHash} on {Environment.MachineName} ({model.Path}) but {(expectedHash.Length > 12 ? expectedHash[..12] : expectedHash)} " +
                "on the machine that planned the run. Give every machine the same model file (a shared path, or the same zoo name and module version).", nameOrPath);
        return model;
    }

    private static (IReadOnlyList<ComputeUnit> Units, IReadOnlyDictionary<string, BackendOptions> Options) ResolveUnits(string[]? ids, int cpuSlices, string optionsKey)
    {
        var baseOptions = BackendOptions.Parse(optionsKey);
        var units = InferencePipeline.ResolveUnits(new InferenceRequest
        {
            Model = "",
            Units = ids,
            CpuSlices = cpuSlices,
            Input = Inputs.InputSource.Synthetic(1),
        });
        return (units, ThreadBudget.OptionsFor(units, baseOptions));
    }
}
