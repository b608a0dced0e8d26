using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// One run of the pipeline, its stages written once and in order: resolve → load the input → (check a given plan, or:
/// profile what the table lacks → plan) → execute → write the output → fold the measured times back into the table.
/// The lanes of the run fill in each stage: the units of this machine (<see cref="UnitPipelineRun"/>) or machines
/// (<c>DistributedInference.MachinePipelineRun</c>), so an option handled here works on one machine and across machines.
/// </summary>
/// <typeparam name="TMissing">What the table lacks: a unit, or a machine with some of its units.</typeparam>
internal abstract class PipelineRun<TMissing>(RunOptions options, BatchPlan? givenPlan, IOutputWriter output, CancellationToken cancellationToken)
{
    protected RunOptions Options { get; } = options;
    /// <summary>Where the run says what it does.</summary>
    protected IOutputWriter Output { get; } = output;
    /// <summary>The progress part of <see cref="Output"/>.</summary>
    protected IProgress<ExecutionProgress> Progress { get; } = output.AsProgress();
    protected CancellationToken CancellationToken { get; } = cancellationToken;

    public InferenceResult Run()
    {
        Report(ExecutionStage.Resolving, ResolvingActivity);
        Resolve();
        CancellationToken.ThrowIfCancellationRequested();
        Report(ExecutionStage.LoadingInput, "loading input");
        int batchSize = LoadInput();
        InferenceResult result;
        try
        {
            BatchPlan plan;
            if (givenPlan is not null)
            {
                plan = CheckPlan(givenPlan, batchSize);
                Output.WriteVerbose($"Running the given plan for {batchSize} items. {PlanText.Describe(plan)}");
            }
            else
            {
                var store = ProfileMissing(batchSize);
                CancellationToken.ThrowIfCancellationRequested();
                Report(ExecutionStage.Planning, PlanningActivity(batchSize));
                plan = Plan(store.Read(), batchSize);
                Output.WriteVerbose($"Planned {batchSize} items with {Options.Algorithm}. {PlanText.Describe(plan)}");
            }
            result = Execute(plan, planned: givenPlan is null);
        }
        finally
        {
            ReleaseInput();
        }
        if (Options.OutputPath is not null)
        {
            Report(ExecutionStage.WritingOutput, $"writing {Options.OutputPath}");
            var full = Path.GetFullPath(Options.OutputPath);
            result.GetOutput()!.SaveNpy(full);
            result = result with { OutputPath = full };
            Output.WriteVerbose($"Wrote the outputs, shape [{string.Join(", ", result.OutputShape)}], to {full}.");
        }
        if (Options.UpdatePerfTable)
        {
            Report(ExecutionStage.UpdatingTable, "folding measured times into the perf table");
            var measured = Measured(result);
            var store = new PerfTableStore(Options.PerfTablePath);
            if (measured.Count > 0) store.Fold(measured, Options.FoldWeight, cancellationToken: CancellationToken);
            Output.WriteVerbose($"Folded {measured.Count} measured row(s) into the perf table {store.Path} (weight {Options.FoldWeight}).");
        }
        Report(ExecutionStage.Done, "done", 100);
        return result;
    }

    /// <summary>
    /// Makes sure the perf table knows every lane: profiles what it lacks (each row saved as soon as it is measured), or
    /// throws MissingProfile with NoAutoProfile. Returns the table's store.
    /// </summary>
    protected PerfTableStore ProfileMissing(int batchSize)
    {
        var store = new PerfTableStore(Options.PerfTablePath);
        var missing = Missing(store.Read());
        if (missing.Count > 0)
        {
            if (Options.NoAutoProfile) throw MissingProfile(store.Path, missing);
            store.CheckWritable(); // a read-only table location fails now, not after profiling
            var profileOptions = ProfileOptionsFor(batchSize);
            Output.WriteVerbose($"Profiling {Names(missing)} for model '{ModelName}': the perf table {store.Path} has no rows for them " +
                $"with this run's options. Batch sizes {(profileOptions.BatchSizes is { } sizes ? string.Join(", ", sizes) : $"of the default grid up to {profileOptions.MaxBatchSize}")}; " +
                "each row is saved as soon as it is measured.");
            // Rows are kept as they are measured (not cancellable), so Ctrl+C or a failure keeps every completed point.
            var gate = new object();
            int saved = 0;
            Profile(missing, profileOptions, rows =>
            {
                lock (gate)
                {
                    store.Merge(rows, cancellationToken: CancellationToken.None);
                    saved += rows.Count;
                }
            });
            Output.WriteVerbose($"Saved {saved} profiled row(s) to the perf table {store.Path}.");
        }
        return store;
    }

    /// <summary>How the run profiles what its table lacks: the options' profile settings, with a grid up to the batch
    /// size (at most 129) unless they name their batch sizes.</summary>
    private ProfileOptions ProfileOptionsFor(int batchSize)
    {
        var profile = Options.ProfileOptions ?? new ProfileOptions();
        return profile.BatchSizes is null ? profile with { MaxBatchSize = Math.Clamp(batchSize, 1, 129) } : profile;
    }

    /// <summary>The model as resolved (an fp16 conversion has a name of its own).</summary>
    protected abstract string ModelName { get; }
    /// <summary>What the resolve stage says it does.</summary>
    protected abstract string ResolvingActivity { get; }
    /// <summary>Resolves the model and the lanes (units, or machines and their units).</summary>
    protected abstract void Resolve();
    /// <summary>Loads (or lays out) the input; returns the batch size.</summary>
    protected abstract int LoadInput();
    /// <summary>Gives back what <see cref="LoadInput"/> took (a pooled buffer), however the run ended.</summary>
    protected virtual void ReleaseInput() { }
    /// <summary>Checks a plan given by the caller against the batch and the lanes; throws InvalidPlan and the like.</summary>
    protected abstract BatchPlan CheckPlan(BatchPlan plan, int batchSize);
    /// <summary>What the table lacks to plan the run (with this run's model and options).</summary>
    protected abstract IReadOnlyList<TMissing> Missing(IReadOnlyList<PerfEntry> table);
    /// <summary>What is missing, by name (for messages).</summary>
    protected abstract string Names(IReadOnlyList<TMissing> missing);
    /// <summary>The MissingProfile error of -NoAutoProfile, naming what is missing and how to profile it.</summary>
    protected abstract HeteroBatchException MissingProfile(string tablePath, IReadOnlyList<TMissing> missing);
    /// <summary>Profiles what is missing with <paramref name="profileOptions"/>; <paramref name="keep"/> takes rows as they come.</summary>
    protected abstract void Profile(IReadOnlyList<TMissing> missing, ProfileOptions profileOptions, Action<IReadOnlyList<PerfEntry>> keep);
    protected abstract string PlanningActivity(int batchSize);
    /// <summary>Plans the batch from the table's rows.</summary>
    protected abstract BatchPlan Plan(IReadOnlyList<PerfEntry> table, int batchSize);
    /// <summary>Runs the plan over the lanes; <paramref name="planned"/>: the plan was made by this run (not given).</summary>
    protected abstract InferenceResult Execute(BatchPlan plan, bool planned);
    /// <summary>The measured rows to fold into the table.</summary>
    protected abstract IReadOnlyList<PerfEntry> Measured(InferenceResult result);

    protected void Report(ExecutionStage stage, string activity, int percent = -1) =>
        Output.WriteProgress(new ExecutionProgress { Stage = stage, Activity = activity, PercentComplete = percent });
}
