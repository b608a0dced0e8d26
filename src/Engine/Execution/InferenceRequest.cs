using System.Diagnostics.CodeAnalysis;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>A run on this machine's units, as one request to <c>InferencePipeline.Run</c>: the run's
/// <see cref="RunOptions"/> plus its input and, optionally, a plan to run as given.</summary>
public sealed record InferenceRequest : RunOptions
{
    public InferenceRequest() { }

    /// <summary>A request with <paramref name="options"/> (as given to every run) for <paramref name="input"/>.</summary>
    [SetsRequiredMembers]
    public InferenceRequest(RunOptions options, InputSource input, BatchPlan? plan = null) : base(options)
    {
        Input = input;
        Plan = plan;
    }

    public required InputSource Input { get; init; }
    /// <summary>A plan to run as given (validated against the batch and units); null plans from the perf table.</summary>
    public BatchPlan? Plan { get; init; }
    /// <summary>Logical cores the caller keeps busy with other work (a dataset stream's decode workers): the CPU units'
    /// thread budget is computed as if the machine had that many fewer cores (at least 1 thread). 0 = none.</summary>
    public int ReservedCores { get; init; }
    /// <summary>Keep cold units whose setup costs more than this batch saves (see <see cref="Planning.ColdUnitRule"/>):
    /// for a caller that runs many batches (a dataset stream), where a unit's setup is paid once for all of them; left
    /// out of the first, it would never warm and be left out of every batch.</summary>
    internal bool KeepColdUnits { get; init; }
}
