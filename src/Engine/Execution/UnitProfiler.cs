using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Measure-BatchProfile's engine: the model of a run's options (with its precision and model cache), the units they
/// name (or every available unit), each with the backend options inference runs it with — so the rows measured here
/// are the rows inference plans from — then the pipeline's own profiling stage.
/// </summary>
public static class UnitProfiler
{
    /// <summary>Profiles the units of <paramref name="options"/>; <paramref name="keep"/> hears each row as soon as it is
    /// measured. Throws ModelNotFound…, UnitNotFound, or <see cref="OperationCanceledException"/>.</summary>
    public static void Profile(RunOptions options, ProfileOptions profileOptions, Action<PerfEntry> keep, IProgress<ProfileProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(profileOptions);
        ArgumentNullException.ThrowIfNull(keep);
        var model = InferencePipeline.ResolveModel(options, cancellationToken);
        var available = ComputeUnitDiscovery.Discover().Where(u => u.Available).ToList();
        var units = options.Units is { Count: > 0 } ids
            ? ids.Distinct(StringComparer.OrdinalIgnoreCase).Select(ComputeUnitDiscovery.Find).ToList()
            : available;
        // The same per-unit options Invoke-HeteroInference runs with (a CPU beside GPUs leaves a core per GPU).
        var context = available.Concat(units).DistinctBy(u => u.Id).ToList();
        var perUnit = ThreadBudget.OptionsFor(context, options.BackendOptions);
        InferencePipeline.ProfileUnits(model, units, perUnit, profileOptions, keep, progress, cancellationToken);
    }
}
