namespace HeteroBatch.Engine.Models;

/// <summary>Stable ErrorIds of resolving, reading and converting models.</summary>
public static class ModelErrorIds
{
    /// <summary>No such file or zoo name (the message lists the zoo).</summary>
    public const string ModelNotFound = "ModelNotFound";
    /// <summary>The model file exists but cannot be read.</summary>
    public const string ModelUnreadable = "ModelUnreadable";
    /// <summary>The file is not a valid ONNX model.</summary>
    public const string ModelInvalid = "ModelInvalid";
    /// <summary>A valid ONNX model HeteroBatch cannot batch or convert.</summary>
    public const string ModelUnsupported = "ModelUnsupported";
    /// <summary>A model with a fixed batch size that cannot be rewritten to a free one.</summary>
    public const string FixedBatchModel = "FixedBatchModel";
    /// <summary>The model cache folder cannot be written.</summary>
    public const string ModelCacheUnwritable = "ModelCacheUnwritable";
}
