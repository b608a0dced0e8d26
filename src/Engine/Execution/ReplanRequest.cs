using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>Items [Offset, Offset+Items) left unfinished by a failed unit, to be spread over <see cref="Units"/>.</summary>
public sealed record ReplanRequest
{
    public required int Offset { get; init; }
    public required int Items { get; init; }
    public required IReadOnlyList<ReplanUnit> Units { get; init; }
    public required BatchPlan Plan { get; init; }
    public required ModelInfo Model { get; init; }
    public required string FailedUnit { get; init; }
}
