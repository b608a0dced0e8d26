using System.Diagnostics;
using System.Runtime.InteropServices;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends.Cpu;

/// <summary>
/// A model on the CPU. Zero copy both ways: the input tensor is an OrtValue over the caller's (pinned)
/// slice and ONNX Runtime writes the output straight into the caller's buffer. ExecMs is the Run call;
/// IoMs is wrapping the buffers. Cancellation sets RunOptions.Terminate, which ONNX Runtime checks
/// between operators.
/// </summary>
public sealed class OrtCpuSession : IInferenceSession, IWarmableSession
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private bool _disposed;
    private bool _ranOnce;

    internal OrtCpuSession(InferenceSession session, ModelInfo model, ComputeUnit unit, BackendOptions options)
    {
        _session = session;
        Model = model;
        Unit = unit;
        Options = options;
        _inputNames = new[] { model.InputName };
        _outputNames = new[] { model.OutputName };
    }

    public ModelInfo Model { get; }
    public ComputeUnit Unit { get; }
    public BackendOptions Options { get; }

    public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SessionValidation.CheckRun(Model, input.Length, output.Length, batchSize);
        cancellationToken.ThrowIfCancellationRequested();

        long ioStart = Stopwatch.GetTimestamp();
        var inputShape = SessionValidation.BatchShape(batchSize, Model.InputItemShape);
        var outputShape = SessionValidation.BatchShape(batchSize, Model.OutputItemShape);
        // ORT never writes to an input; the cast only satisfies the API's Memory<T> parameter.
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            MemoryMarshal.AsMemory(input), inputShape);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            output[..(batchSize * Model.OutputElementsPerItem)], outputShape);
        double ioMs = Stopwatch.GetElapsedTime(ioStart).TotalMilliseconds;

        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        long execStart = Stopwatch.GetTimestamp();
        try
        {
            _session.Run(runOptions, _inputNames, new[] { inputValue }, _outputNames, new[] { outputValue });
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or OutOfMemoryException)
        {
            throw OrtErrorMapper.Map(ex, OrtStage.Run, Unit, Model, batchSize, cancellationToken);
        }
        double execMs = Stopwatch.GetElapsedTime(execStart).TotalMilliseconds;
        _ranOnce = true;
        return new RunTiming(execMs, ioMs);
    }

    /// <summary>A CPU session has no per-size setup; its first run (thread pool, arena, kernel set-up) is the cost.</summary>
    public bool IsWarm(int batchSize) => _ranOnce;

    /// <summary>The CPU reads the caller's buffers in place: nothing to ready.</summary>
    public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk) { }

    /// <summary>One item of zeros: the first run's set-up without the cost of a full batch.</summary>
    public void WarmUp(int batchSize, CancellationToken cancellationToken = default)
    {
        if (_ranOnce) return;
        var input = new float[Model.InputElementsPerItem];
        var output = new float[Model.OutputElementsPerItem];
        Run(input, output, 1, cancellationToken);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
    }
}
