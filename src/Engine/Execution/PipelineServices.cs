using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

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
