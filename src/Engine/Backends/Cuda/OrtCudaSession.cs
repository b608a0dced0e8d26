using System.Diagnostics;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace HeteroBatch.Engine.Backends.Cuda;

/// <summary>
/// A model on one GPU through ONNX Runtime's CUDA provider and an OrtIoBinding whose input and output are
/// device buffers the session owns. A run is: caller input → page-locked host buffer → device (timed as
/// IoMs), RunWithBinding (ExecMs, compute only), device → page-locked buffer → caller output (IoMs).
/// Device and host buffers grow to the largest batch seen and are reused; with enable_cuda_graph each
/// batch size keeps its own device buffers (a captured graph replays fixed addresses) and graph id.
/// </summary>
public sealed unsafe class OrtCudaSession : IInferenceSession
{
    private readonly InferenceSession _session;
    private readonly CudaRuntime _cuda;
    private readonly CudaProviderSettings _settings;
    private readonly OrtMemoryInfo _deviceMemory;
    private readonly OrtIoBinding _binding;
    private readonly IntPtr _stream;
    private readonly int _device;
    private readonly long _inputBytesPerItem;
    private readonly long _outputBytesPerItem;

    private PinnedHostBuffer _hostInput;
    private PinnedHostBuffer _hostOutput;
    private DeviceBuffers? _shared;
    private readonly Dictionary<int, DeviceBuffers> _perBatch = new();
    private DeviceBuffers? _bound;
    private bool _disposed;

    internal OrtCudaSession(InferenceSession session, CudaRuntime cuda, ModelInfo model, ComputeUnit unit,
        BackendOptions options, CudaProviderSettings settings)
    {
        _session = session;
        _cuda = cuda;
        _settings = settings;
        Model = model;
        Unit = unit;
        Options = options;
        _device = unit.DeviceIndex;
        _inputBytesPerItem = (long)model.InputElementsPerItem * sizeof(float);
        _outputBytesPerItem = (long)model.OutputElementsPerItem * sizeof(float);
        try
        {
            _cuda.SetDevice(_device);
            _stream = _cuda.CreateStream();
            _deviceMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, _device, OrtMemType.Default);
            _binding = _session.CreateIoBinding();
        }
        catch (CudaRuntimeException ex)
        {
            // The backend disposes the InferenceSession it handed us.
            _binding?.Dispose();
            _deviceMemory?.Dispose();
            _cuda.DestroyStream(_stream);
            throw OrtErrorMapper.Map(ex, OrtStage.Load, unit, model);
        }
    }

    public ModelInfo Model { get; }
    public ComputeUnit Unit { get; }
    public BackendOptions Options { get; }

    /// <summary>Bytes of GPU memory the session's own input/output buffers hold (model weights and the arena excluded).</summary>
    public long DeviceBufferBytes => (_shared?.Bytes ?? 0) + _perBatch.Values.Sum(b => b.Bytes);

    public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SessionValidation.CheckRun(Model, input.Length, output.Length, batchSize);
        cancellationToken.ThrowIfCancellationRequested();

        long inputBytes = batchSize * _inputBytesPerItem;
        long outputBytes = batchSize * _outputBytesPerItem;
        double ioMs;
        double execMs;
        try
        {
            // The CUDA current device is per host thread, and the worker may be any thread.
            _cuda.SetDevice(_device);
            var buffers = Prepare(batchSize);

            long ioStart = Stopwatch.GetTimestamp();
            input.Span.CopyTo(_hostInput.AsSpan(batchSize * Model.InputElementsPerItem));
            _cuda.MemcpyAsync(buffers.Input, _hostInput.Pointer, inputBytes, CudaRuntime.MemcpyHostToDevice, _stream);
            _cuda.StreamSynchronize(_stream);
            ioMs = Stopwatch.GetElapsedTime(ioStart).TotalMilliseconds;

            using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            if (_settings.CudaGraph) runOptions.AddRunConfigEntry("gpu_graph_id", batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using (cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions))
            {
                long execStart = Stopwatch.GetTimestamp();
                // Returns once ORT has synchronised its compute stream (run option
                // disable_synchronize_execution_providers is left at 0), so the output is complete.
                _session.RunWithBinding(runOptions, _binding);
                execMs = Stopwatch.GetElapsedTime(execStart).TotalMilliseconds;
            }

            ioStart = Stopwatch.GetTimestamp();
            _cuda.MemcpyAsync(_hostOutput.Pointer, buffers.Output, outputBytes, CudaRuntime.MemcpyDeviceToHost, _stream);
            _cuda.StreamSynchronize(_stream);
            _hostOutput.AsSpan(batchSize * Model.OutputElementsPerItem).CopyTo(output.Span);
            ioMs += Stopwatch.GetElapsedTime(ioStart).TotalMilliseconds;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or CudaRuntimeException or OutOfMemoryException)
        {
            throw OrtErrorMapper.Map(ex, OrtStage.Run, Unit, Model, batchSize, cancellationToken);
        }
        return new RunTiming(execMs, ioMs);
    }

    /// <summary>Host and device buffers for this batch size, bound to the session.</summary>
    private DeviceBuffers Prepare(int batchSize)
    {
        _hostInput.EnsureCapacity(_cuda, batchSize * _inputBytesPerItem);
        _hostOutput.EnsureCapacity(_cuda, batchSize * _outputBytesPerItem);

        DeviceBuffers buffers;
        if (_settings.CudaGraph)
        {
            if (!_perBatch.TryGetValue(batchSize, out buffers!))
            {
                buffers = DeviceBuffers.Allocate(_cuda, batchSize * _inputBytesPerItem, batchSize * _outputBytesPerItem);
                _perBatch[batchSize] = buffers;
            }
        }
        else
        {
            if (_shared is null || _shared.InputCapacity < batchSize * _inputBytesPerItem || _shared.OutputCapacity < batchSize * _outputBytesPerItem)
            {
                _binding.ClearBoundInputs();
                _binding.ClearBoundOutputs();
                _bound = null;
                _shared?.Dispose(_cuda);
                _shared = null;
                _shared = DeviceBuffers.Allocate(_cuda, batchSize * _inputBytesPerItem, batchSize * _outputBytesPerItem);
            }
            buffers = _shared;
        }

        if (!ReferenceEquals(_bound, buffers) || buffers.BoundBatch != batchSize)
        {
            buffers.Bind(_binding, _deviceMemory, Model, batchSize);
            _bound = buffers;
        }
        return buffers;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
    }

    private void Release()
    {
        try { _cuda.SetDevice(_device); } catch (CudaRuntimeException) { }
        _binding?.Dispose();
        _shared?.Dispose(_cuda);
        foreach (var buffers in _perBatch.Values) buffers.Dispose(_cuda);
        _perBatch.Clear();
        _hostInput.Free(_cuda);
        _hostOutput.Free(_cuda);
        _cuda.DestroyStream(_stream);
        _deviceMemory?.Dispose();
        _session.Dispose();
    }

    /// <summary>Page-locked host memory that grows to the largest batch seen.</summary>
    private struct PinnedHostBuffer
    {
        public IntPtr Pointer;
        public long Capacity;

        public void EnsureCapacity(CudaRuntime cuda, long bytes)
        {
            if (Capacity >= bytes) return;
            Free(cuda);
            Pointer = cuda.HostAlloc(bytes);
            Capacity = bytes;
        }

        public readonly Span<float> AsSpan(int elements) => new((void*)Pointer, elements);

        public void Free(CudaRuntime cuda)
        {
            cuda.FreeHost(Pointer);
            Pointer = IntPtr.Zero;
            Capacity = 0;
        }
    }

    /// <summary>Input and output device memory, and OrtValues over them for the batch size last bound.</summary>
    private sealed class DeviceBuffers
    {
        public IntPtr Input;
        public IntPtr Output;
        public long InputCapacity;
        public long OutputCapacity;
        public int BoundBatch;
        private OrtValue? _inputValue;
        private OrtValue? _outputValue;

        public long Bytes => InputCapacity + OutputCapacity;

        public static DeviceBuffers Allocate(CudaRuntime cuda, long inputBytes, long outputBytes)
        {
            var buffers = new DeviceBuffers();
            try
            {
                buffers.Input = cuda.Malloc(inputBytes);
                buffers.InputCapacity = inputBytes;
                buffers.Output = cuda.Malloc(outputBytes);
                buffers.OutputCapacity = outputBytes;
                return buffers;
            }
            catch
            {
                buffers.Dispose(cuda);
                throw;
            }
        }

        public void Bind(OrtIoBinding binding, OrtMemoryInfo deviceMemory, ModelInfo model, int batchSize)
        {
            _inputValue?.Dispose();
            _outputValue?.Dispose();
            var inputShape = SessionValidation.BatchShape(batchSize, model.InputItemShape);
            var outputShape = SessionValidation.BatchShape(batchSize, model.OutputItemShape);
            _inputValue = OrtValue.CreateTensorValueWithData(deviceMemory, TensorElementType.Float, inputShape, Input,
                (long)batchSize * model.InputElementsPerItem * sizeof(float));
            _outputValue = OrtValue.CreateTensorValueWithData(deviceMemory, TensorElementType.Float, outputShape, Output,
                (long)batchSize * model.OutputElementsPerItem * sizeof(float));
            binding.BindInput(model.InputName, _inputValue);
            binding.BindOutput(model.OutputName, _outputValue);
            BoundBatch = batchSize;
        }

        public void Dispose(CudaRuntime cuda)
        {
            _inputValue?.Dispose();
            _outputValue?.Dispose();
            cuda.Free(Input);
            cuda.Free(Output);
            Input = Output = IntPtr.Zero;
            InputCapacity = OutputCapacity = 0;
        }
    }
}
