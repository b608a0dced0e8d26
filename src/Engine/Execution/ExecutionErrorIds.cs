using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Stable ErrorIds raised by execution and the inference pipeline. Scripts and tests match on these strings; never
/// rename one. The input's ids are defined by the inputs (<see cref="InputErrorIds"/>) and the batch's by
/// <see cref="BatchErrorIds"/>; they are repeated here, as the same constants, for callers that know them from here.
/// </summary>
public static class ExecutionErrorIds
{
    /// <summary>The input's item shape or element count does not fit the model's input.</summary>
    public const string InvalidInputShape = BatchErrorIds.InvalidInputShape;
    /// <summary>The input's element type (npy dtype, array type, file extension) is not float32 or a known image.</summary>
    public const string UnsupportedInputType = InputErrorIds.UnsupportedInputType;
    /// <summary>No items: an empty folder, an empty list of files, an empty array.</summary>
    public const string EmptyInput = InputErrorIds.EmptyInput;
    /// <summary>An image file could not be decoded (corrupt or not an image); the message names the file.</summary>
    public const string ImageDecodeFailed = InputErrorIds.ImageDecodeFailed;
    /// <summary>An input file or folder does not exist.</summary>
    public const string InputNotFound = InputErrorIds.InputNotFound;
    /// <summary>An input file exists but could not be read (permissions, I/O error).</summary>
    public const string InputReadFailed = InputErrorIds.InputReadFailed;
    /// <summary>A .npy file has a malformed header or is cut short.</summary>
    public const string NpyFormatInvalid = InputErrorIds.NpyFormatInvalid;
    /// <summary>A batch size (synthetic N) is not a positive number.</summary>
    public const string InvalidBatchSize = BatchErrorIds.InvalidBatchSize;
    /// <summary>A plan does not fit the batch or the units: sizes, offsets, chunks or unit ids are wrong.</summary>
    public const string InvalidPlan = "InvalidPlan";
    /// <summary>A unit exists but cannot be used now (driver missing, disabled); the message gives the reason.</summary>
    public const string UnitNotAvailable = "UnitNotAvailable";
    /// <summary>No unit was given or found to run on.</summary>
    public const string NoUnits = "NoUnits";
    /// <summary>Some items were computed by no unit (every unit able to take them failed); the message names the ranges.</summary>
    public const string ItemsNotComputed = "ItemsNotComputed";
    /// <summary>The perf table lacks entries for a unit and model, and automatic profiling was switched off.</summary>
    public const string MissingProfile = "MissingProfile";
    /// <summary>The output tensor could not be written (path invalid, disk full, no permission).</summary>
    public const string OutputWriteFailed = InputErrorIds.OutputWriteFailed;
    /// <summary>The model's output has free dimensions, so its size per item is unknown.</summary>
    public const string UnsupportedModelOutput = "UnsupportedModelOutput";
    /// <summary>Top-k was asked of a model whose output is not one score vector per item.</summary>
    public const string NotAClassifier = "NotAClassifier";
    /// <summary>CPU slices asked for are not ≥ 1, or a slice id names a slice the split does not have.</summary>
    public const string InvalidCpuSlices = "InvalidCpuSlices";
    /// <summary>A unit failed earlier in the run, so its later assignments are not run (they are re-planned).</summary>
    public const string UnitFailedEarlier = "UnitFailedEarlier";
}
