namespace HeteroBatch.Engine.Backends;

/// <summary>Stable ErrorIds of the inference backends (ONNX Runtime CPU and CUDA, OpenVINO) and their sessions.</summary>
public static class BackendErrorIds
{
    /// <summary>A backend option is malformed, unknown to the backend, or has a value it does not take.</summary>
    public const string InvalidBackendOptions = Table.TableErrorIds.InvalidBackendOptions;
    /// <summary>No backend is registered under the unit's backend name.</summary>
    public const string BackendNotFound = "BackendNotFound";
    /// <summary>A session was asked to run on a unit of another backend.</summary>
    public const string BackendMismatch = "BackendMismatch";
    /// <summary>ONNX Runtime's CUDA provider (or CUDA itself) cannot be loaded.</summary>
    public const string CudaProviderUnavailable = "CudaProviderUnavailable";
    /// <summary>The OpenVINO runtime is not installed.</summary>
    public const string OpenVinoNotInstalled = "OpenVinoNotInstalled";
    /// <summary>The backend cannot load the model.</summary>
    public const string ModelLoadFailed = "ModelLoadFailed";
    /// <summary>The unit ran out of memory (e.g. GPU memory at a large batch).</summary>
    public const string UnitOutOfMemory = "UnitOutOfMemory";
    /// <summary>A run failed on the unit for another reason.</summary>
    public const string InferenceFailed = "InferenceFailed";
}
