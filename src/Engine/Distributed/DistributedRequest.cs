using System.Diagnostics.CodeAnalysis;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Distributed;

/// <summary>
/// A run across machines, as one request to <c>DistributedInference.Run</c>: the same <see cref="RunOptions"/>
/// as a run on one machine, plus the machines. Unit ids are <c>machine/unit</c> (the machine by the name it reports or
/// by its address) for one machine's unit, a plain id (<c>cpu</c>) for that unit on every machine; none: every
/// available unit of every machine (or the units of <see cref="Plan"/>). A machine none of the ids names takes no part.
/// Every option reaches the machines (<see cref="RunOptions.ForMachine"/>); the output is written and the table
/// folded on this machine.
/// </summary>
public sealed record DistributedRequest : RunOptions
{
    public DistributedRequest() { }

    [SetsRequiredMembers]
    public DistributedRequest(RunOptions options, IReadOnlyList<IMachineRunner> machines, InputSource input, BatchPlan? plan = null) : base(options)
    {
        Machines = machines;
        Input = input;
        Plan = plan;
    }

    /// <summary>The machines (at least one). Each is used by this run only, one call at a time.</summary>
    public required IReadOnlyList<IMachineRunner> Machines { get; init; }
    public required InputSource Input { get; init; }
    /// <summary>A plan across machines (from Split-Batch or <see cref="MachinePlanner"/>) to run as given.</summary>
    public BatchPlan? Plan { get; init; }
}
