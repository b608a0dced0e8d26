using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>A unit that can still take items after another failed, with what is known of its speed.</summary>
public sealed record ReplanUnit
{
    public required string Unit { get; init; }
    /// <summary>Milliseconds per item: measured in this run when the unit finished chunks, else from the plan; NaN when unknown.</summary>
    public double MsPerItem { get; init; } = double.NaN;
    /// <summary>Predicted milliseconds until the unit has finished the work already queued on it.</summary>
    public double BusyMs { get; init; }
    /// <summary>Largest batch the unit ran or was planned to run in this run (a safe chunk size); null when unknown.</summary>
    public int? MaxChunk { get; init; }
}
