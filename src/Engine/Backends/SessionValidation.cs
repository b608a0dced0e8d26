using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends;

/// <summary>Argument checks every backend makes when it opens a session and before each run touches native memory.</summary>
internal static class SessionValidation
{
    /// <summary>The arguments every backend's CreateSession checks first; throws <c>BackendMismatch</c> for another backend's unit.</summary>
    public static BackendOptions CheckCreate(IInferenceBackend backend, ModelInfo model, ComputeUnit unit, BackendOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(unit);
        if (!backend.Supports(unit))
            throw new HeteroBatchException(BackendErrorIds.BackendMismatch, ErrorKind.InvalidArgument,
                $"{backend.Name} cannot run unit {unit.Id} ({unit.Backend}).", unit.Id);
        return options ?? BackendOptions.Default;
    }

    public static void CheckRun(ModelInfo model, int inputLength, int outputLength, int batchSize)
    {
        if (batchSize <= 0)
            throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"Batch size must be at least 1 (got {batchSize}).", batchSize);
        if (model.MaxBatchSize is int max && batchSize > max)
            throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"{model.Name} accepts at most {max} items per run (its batch dimension is fixed); got {batchSize}.", batchSize);
        long expectedInput = (long)batchSize * model.InputElementsPerItem;
        if (inputLength != expectedInput)
            throw new HeteroBatchException(Errors.BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"{model.Name} takes {model.InputElementsPerItem} floats per item ({string.Join("x", model.InputItemShape)}): {batchSize} items need {expectedInput} floats, the input holds {inputLength}.",
                batchSize);
        long expectedOutput = (long)batchSize * model.OutputElementsPerItem;
        if (outputLength < expectedOutput)
            throw new HeteroBatchException(Errors.BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"{model.Name} returns {model.OutputElementsPerItem} floats per item: {batchSize} items need an output of {expectedOutput} floats, the buffer holds {outputLength}.",
                batchSize);
    }

    public static long[] BatchShape(int batchSize, int[] itemShape)
    {
        var shape = new long[itemShape.Length + 1];
        shape[0] = batchSize;
        for (int i = 0; i < itemShape.Length; i++) shape[i + 1] = itemShape[i];
        return shape;
    }
}
