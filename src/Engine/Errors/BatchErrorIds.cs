namespace HeteroBatch.Engine.Errors;

/// <summary>Stable ErrorIds about a batch itself, raised by every area that takes one (inputs, backends, profiling, planning).</summary>
public static class BatchErrorIds
{
    /// <summary>A batch size (or re-planned item count) is not ≥ 1, or too large for one batch.</summary>
    public const string InvalidBatchSize = "InvalidBatchSize";
    /// <summary>The input does not have the shape the model takes (per item, or the batch's length).</summary>
    public const string InvalidInputShape = "InvalidInputShape";
}
