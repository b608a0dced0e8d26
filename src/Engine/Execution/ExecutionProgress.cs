namespace HeteroBatch.Engine.Execution;

/// <summary>Stage of an inference pipeline run, for progress display.</summary>
public enum ExecutionStage
{
    Resolving,
    LoadingInput,
    Profiling,
    Planning,
    Executing,
    WritingOutput,
    UpdatingTable,
    Done,
}

/// <summary>How far one unit is through the items it was given (its share plus re-planned items).</summary>
public sealed record UnitProgress(string Unit, int ItemsDone, int Items, bool Failed);

/// <summary>Progress of a run: the stage, and during <see cref="ExecutionStage.Executing"/>, items done overall and per unit.</summary>
public sealed record ExecutionProgress
{
    public required ExecutionStage Stage { get; init; }
    /// <summary>What is happening now, in words (e.g. "profiling cpu, batch 16").</summary>
    public string Activity { get; init; } = "";
    public int ItemsDone { get; init; }
    public int TotalItems { get; init; }
    public IReadOnlyList<UnitProgress> Units { get; init; } = Array.Empty<UnitProgress>();
    /// <summary>0–100 within the current stage; -1 when unknown.</summary>
    public int PercentComplete { get; init; } = -1;

    /// <summary>The executing stage's report, for units and machines alike: items done of the batch, and per lane.</summary>
    internal static ExecutionProgress Executing(int done, int total, IReadOnlyList<UnitProgress> lanes) => new()
    {
        Stage = ExecutionStage.Executing,
        Activity = $"{done} of {total} items",
        ItemsDone = done,
        TotalItems = total,
        PercentComplete = total > 0 ? (int)Math.Min(100, done * 100L / total) : 100,
        Units = lanes,
    };
}
