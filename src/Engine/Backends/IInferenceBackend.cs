using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends;

/// <summary>Backend names as they appear in <see cref="ComputeUnit.Backend"/> and in the perf table.</summary>
public static class BackendNames
{
    public const string OrtCpu = UnitBackends.OrtCpu;
    public const string OrtCuda = UnitBackends.OrtCuda;
    public const string OpenVino = UnitBackends.OpenVino;
}

/// <summary>
/// The seam every execution backend sits behind (ONNX Runtime CPU, ONNX Runtime CUDA, OpenVINO).
/// </summary>
public interface IInferenceBackend
{
    string Name { get; }
    bool Supports(ComputeUnit unit);
    /// <summary>Opens a session of <paramref name="model"/> on <paramref name="unit"/>. Throws
    /// <see cref="Errors.HeteroBatchException"/> when the model or the unit cannot be used.</summary>
    IInferenceSession CreateSession(ModelInfo model, ComputeUnit unit, BackendOptions options);
}

/// <summary>Timing of one run, split as the paper's measure_io does.</summary>
public readonly record struct RunTiming(double ExecMs, double IoMs)
{
    public double TotalMs => ExecMs + IoMs;
    /// <summary>The part of <see cref="IoMs"/> that moved the input to the device (GPU units; 0 where there is no copy).</summary>
    public double HostToDeviceMs { get; init; }
    /// <summary>The part of <see cref="IoMs"/> that read the output back from the device (GPU units; 0 where there is no copy).</summary>
    public double DeviceToHostMs { get; init; }
}

/// <summary>
/// An open model on one unit. Not thread-safe: one caller (the unit's worker thread) at a time.
/// </summary>
public interface IInferenceSession : IDisposable
{
    ModelInfo Model { get; }
    ComputeUnit Unit { get; }
    BackendOptions Options { get; }

    /// <summary>
    /// Runs <paramref name="batchSize"/> items. <paramref name="input"/> holds exactly
    /// batchSize * Model.InputElementsPerItem floats (item-major, contiguous), <paramref name="output"/>
    /// receives batchSize * Model.OutputElementsPerItem floats. Out-of-memory surfaces as
    /// <see cref="Errors.HeteroBatchException"/> with ErrorId <c>UnitOutOfMemory</c>.
    /// </summary>
    RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default);
}

/// <summary>
/// A session that can run consecutive full chunks of one contiguous range as a pipeline, copying chunk k+1
/// in while chunk k computes (the CUDA session). Sessions without it run chunk by chunk.
/// </summary>
public interface IChunkPipelineSession
{
    /// <summary>
    /// Runs <paramref name="chunkSizes"/> (all full, no padding) over <paramref name="input"/>, which holds their
    /// items back to back, writing <paramref name="output"/> likewise. Returns one timing per chunk; the I/O a
    /// pipeline hides behind compute is not counted.
    /// </summary>
    IReadOnlyList<RunTiming> RunChunks(ReadOnlyMemory<float> input, Memory<float> output, IReadOnlyList<int> chunkSizes, CancellationToken cancellationToken = default);
}
