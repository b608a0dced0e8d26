using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Units.Cuda;

namespace HeteroBatch.Engine.Backends;

/// <summary>What the engine was doing when ONNX Runtime failed; the same text means different things.</summary>
public enum OrtStage
{
    /// <summary>Creating the session: loading and optimising the model.</summary>
    Load,
    /// <summary>Registering an execution provider (loading its library).</summary>
    ProviderInit,
    /// <summary>Running a batch.</summary>
    Run,
}

/// <summary>
/// Turns ONNX Runtime (and CUDA) failures into the engine's typed errors, by the text ONNX Runtime puts in
/// its messages. Error ids: UnitOutOfMemory, InvalidInputShape, ModelLoadFailed, CudaProviderUnavailable,
/// InferenceFailed; a run stopped by its cancellation token becomes <see cref="OperationCanceledException"/>.
/// </summary>
public static class OrtErrorMapper
{
    private static readonly string[] OutOfMemoryMarkers =
    {
        "Failed to allocate memory",
        "bad_alloc",
        "CUDA failure 2:",
        "cudaErrorMemoryAllocation",
        "CUDA error cudaErrorMemoryAllocation",
        "out of memory",
        "CUBLAS_STATUS_ALLOC_FAILED",
        "CUDNN_STATUS_ALLOC_FAILED",
        "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH_ALLOC",
        "CUFFT_ALLOC_FAILED",
        "Available memory of",          // BFC arena: "Available memory of 0 is smaller than requested bytes of ..."
        "std::bad_alloc",
    };

    private static readonly string[] TerminationMarkers =
    {
        "Exiting due to terminate flag being set to true",
        "terminate flag",
    };

    private static readonly string[] ShapeMarkers =
    {
        "Got invalid dimensions for input",
        "Invalid rank for input",
        "Unexpected input data type",
        "Shape mismatch attempting to re-use buffer",
        "doesn't match the expected size",
        "input shape mismatch",
        "tensor shape",
        "Invalid input shape",
    };

    private static readonly string[] ProviderLoadMarkers =
    {
        "libonnxruntime_providers_cuda",
        "onnxruntime_providers_cuda.dll",
        "onnxruntime_providers_shared",
        "CUDA_PATH is set but CUDA wasnt able to be loaded",
        "CUDA_PATH is set but CUDA wasn't able to be loaded",
        "Failed to load library",
        "Failed to load shared library",        // the C# API's text: "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library"
        "AppendExecutionProvider_Cuda",
        "LoadLibrary failed with error 126",
        "cannot open shared object file",
        "CUDA driver version is insufficient",
        "cudaErrorInsufficientDriver",
        "cudaErrorNoDevice",
        "no CUDA-capable device is detected",
    };

    public static bool IsOutOfMemory(string message) => ContainsAny(message, OutOfMemoryMarkers);
    public static bool IsTermination(string message) => ContainsAny(message, TerminationMarkers);
    public static bool IsShapeError(string message) => ContainsAny(message, ShapeMarkers);
    public static bool IsProviderLoadFailure(string message) => ContainsAny(message, ProviderLoadMarkers);

    /// <summary>
    /// The engine exception for <paramref name="error"/>. Already-typed engine errors and cancellations
    /// pass through unchanged. <paramref name="cancellationToken"/>: when it is cancelled, a terminated
    /// run becomes OperationCanceledException on that token.
    /// </summary>
    public static Exception Map(Exception error, OrtStage stage, ComputeUnit unit, ModelInfo? model,
        int? batchSize = null, CancellationToken cancellationToken = default)
    {
        if (error is HeteroBatchException or OperationCanceledException) return error;
        string message = error.Message ?? "";
        string modelName = model?.Name ?? "the model";
        string batchText = batchSize is int b ? $" at batch size {b}" : "";

        if (cancellationToken.IsCancellationRequested && (stage == OrtStage.Run || IsTermination(message)))
            return new OperationCanceledException("The inference run was cancelled.", error, cancellationToken);
        if (IsTermination(message))
            return new OperationCanceledException("The inference run was terminated.", error);

        if (error is OutOfMemoryException or InsufficientMemoryException || IsOutOfMemory(message))
        {
            string advice = unit.Kind == ComputeUnitKind.Gpu
                ? "Use a smaller batch on this GPU, close other programs using its memory (nvidia-smi), or exclude it."
                : "Use a smaller batch or free memory on this machine.";
            return new HeteroBatchException(BackendErrorIds.UnitOutOfMemory, ErrorKind.LimitsExceeded,
                $"{unit.Id} ran out of memory running {modelName}{batchText}. {advice} ({FirstLine(message)})",
                unit.Id, error);
        }

        if (stage == OrtStage.ProviderInit || (unit.Backend == BackendNames.OrtCuda && IsProviderLoadFailure(message)))
        {
            string reason = unit.Reason ?? CudaProviderProbe.Default.Check().Reason
                ?? "ONNX Runtime's CUDA provider failed to initialise.";
            return new HeteroBatchException(BackendErrorIds.CudaProviderUnavailable, ErrorKind.NotInstalled,
                $"{unit.Id} cannot be used: {reason} (ONNX Runtime said: {FirstLine(message)})", unit.Id, error);
        }

        if (IsShapeError(message))
        {
            return new HeteroBatchException(Errors.BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"The input does not fit {modelName}{batchText}: {FirstLine(message)}", batchSize ?? (object?)model?.Name, error);
        }

        if (stage == OrtStage.Load)
        {
            return new HeteroBatchException(BackendErrorIds.ModelLoadFailed, ErrorKind.InvalidData,
                $"ONNX Runtime could not load {modelName} ({model?.Path}) on {unit.Id}: {FirstLine(message)} Check that the file is a valid ONNX model (opset supported by ONNX Runtime 1.31).",
                model?.Path, error);
        }

        return new HeteroBatchException(BackendErrorIds.InferenceFailed,
            unit.Kind == ComputeUnitKind.Gpu ? ErrorKind.DeviceError : ErrorKind.InvalidOperation,
            $"{unit.Id} failed running {modelName}{batchText}: {FirstLine(message)}", unit.Id, error);
    }

    private static bool ContainsAny(string text, string[] markers)
    {
        foreach (var marker in markers)
            if (text.Contains(marker, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>ORT messages carry stack traces on later lines; the first lines hold the reason.</summary>
    private static string FirstLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var text = string.Join(" ", lines.Take(4));
        return text.Length > 600 ? text[..600] + "..." : text;
    }
}
