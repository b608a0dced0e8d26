using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Planning;

/// <summary>How a planning algorithm split a batch over workers, and why it gave a worker no items.</summary>
internal sealed record SplitOutcome(int[] Items, double OptimalMakespanMs, string? ZeroReason);
