using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends.Cuda;

/// <summary>
/// A model on one GPU through ONNX Runtime's CUDA provider and an OrtIoBinding whose input and output are
/// device buffers the session owns. A run is: caller input → page-locked host buffer → device (timed as
/// IoMs), RunWithBinding (ExecMs, compute only), device → page-locked buffer → caller output (IoMs).
/// Device and host buffers grow to the largest batch seen and are reused. With CUDA graphs (the default) each
/// batch size has two slots (a single run uses slot 0, pipelined chunks alternate 0 and 1), each with its own
/// device buffers, binding and graph id: a captured graph replays fixed addresses, and replaying it runs no
/// algorithm search. ONNX Runtime 1.31's Conv builds its cuDNN frontend plan for the last input shape only, so
/// without graphs every change of batch size searches again (~0.5 s for ResNet-50); with them each size pays
/// that once per session, when it is warmed (<see cref="IWarmableSession"/>).
/// </summary>
public sealed unsafe class OrtCudaSession : IInferenceSession, IChunkPipelineSession, IWarmableSession
{
    // Page-locked registrations of batch buffers, shared by every GPU session of the process (portable).
    private static readonly ConditionalWeakTable<float[], HostRegistration> Registrations = new();
    private const long MinRegistrationBytes = 16L << 20;
    private const long MinReusableRegistrationBytes = 1L << 20;

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
    private readonly Dictionary<(int Size, int Slot), DeviceBuffers> _graphSlots = new();
    // ORT keeps a session's CUDA graphs per host thread (the CUDA EP's PerThreadContext): a graph captured on one
    // thread is captured again, with its regular runs first, on the next. So warmth is per thread.
    private readonly HashSet<(int Thread, int Size, int Slot)> _captured = new();
    private bool _ranOnce;
    private DeviceBuffers? _bound;
    private readonly DeviceBuffers?[] _pipeBuffers = new DeviceBuffers?[2];
    private readonly OrtIoBinding?[] _pipeBindings = new OrtIoBinding?[2];
    private readonly IntPtr[] _pipeEvents = new IntPtr[2];
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
    public long DeviceBufferBytes => (_shared?.Bytes ?? 0) + _graphSlots.Values.Sum(b => b.Bytes);

    /// <summary>True when this session replays a CUDA graph per batch size (enable_cuda_graph=1, the default).</summary>
    public bool UsesCudaGraphs => _settings.CudaGraph;

    /// <inheritdoc/>
    public bool IsWarm(int batchSize) => _settings.CudaGraph
        ? _captured.Contains(Captured(batchSize, 0)) && _captured.Contains(Captured(batchSize, 1))
        : _ranOnce;

    /// <inheritdoc/>
    public void WarmUp(int batchSize, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            _cuda.SetDevice(_device);
            if (!_settings.CudaGraph)
            {
                Prepare(batchSize);
                for (int i = 0; i < WarmRunsWithoutGraphs; i++)
                {
                    using var plain = NewRunOptions(-1);
                    _session.RunWithBinding(plain, _binding);
                }
                _ranOnce = true;
                return;
            }
            // The device buffers' contents do not matter: the outputs are thrown away.
            for (int slot = 0; slot < 2; slot++)
            {
                if (_captured.Contains(Captured(batchSize, slot))) continue;
                var set = GraphSlot(batchSize, slot);
                for (int i = 0; i < WarmRunsPerGraph; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var options = NewRunOptions(GraphId(batchSize, slot));
                    using (cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, options))
                        _session.RunWithBinding(options, set.Binding!);
                }
                _captured.Add(Captured(batchSize, slot));
            }
            _ranOnce = true;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or CudaRuntimeException or OutOfMemoryException)
        {
            throw OrtErrorMapper.Map(ex, OrtStage.Run, Unit, Model, batchSize, cancellationToken);
        }
    }

    // ORT captures a graph id on the run after its regular runs (the first allocates, the second settles the
    // kernels); a third call replays, so a warmed slot never pays capture inside a timed run.
    private const int WarmRunsPerGraph = 3;
    private const int WarmRunsWithoutGraphs = 2;

    private static int GraphId(int batchSize, int slot) => batchSize * 2 + slot;

    private static (int Thread, int Size, int Slot) Captured(int batchSize, int slot) => (Environment.CurrentManagedThreadId, batchSize, slot);

    /// <inheritdoc/>
    public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            _cuda.SetDevice(_device);
            // A share of several full chunks runs as one pipeline, staged whole: size for the share, not one chunk.
            long items = Math.Max(largestChunk, input.Length / Model.InputElementsPerItem);
            if (DirectPointer(input) == IntPtr.Zero) _hostInput.EnsureCapacity(_cuda, items * _inputBytesPerItem);
            _hostOutput.EnsureCapacity(_cuda, items * _outputBytesPerItem);
        }
        catch (CudaRuntimeException ex)
        {
            throw OrtErrorMapper.Map(ex, OrtStage.Run, Unit, Model, largestChunk);
        }
    }

    private RunOptions NewRunOptions(int graphId)
    {
        var options = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        if (_settings.CudaGraph) options.AddRunConfigEntry("gpu_graph_id", graphId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return options;
    }

    /// <summary>The device buffers of one graph slot of <paramref name="batchSize"/>, bound once to a binding of their own.</summary>
    private DeviceBuffers GraphSlot(int batchSize, int slot)
    {
        if (_graphSlots.TryGetValue((batchSize, slot), out var set)) return set;
        set = DeviceBuffers.Allocate(_cuda, batchSize * _inputBytesPerItem, batchSize * _outputBytesPerItem);
        try
        {
            set.Binding = _session.CreateIoBinding();
            set.Bind(set.Binding, _deviceMemory, Model, batchSize);
        }
        catch
        {
            set.Binding?.Dispose();
            set.Dispose(_cuda);
            throw;
        }
        _graphSlots[(batchSize, slot)] = set;
        return set;
    }

    public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SessionValidation.CheckRun(Model, input.Length, output.Length, batchSize);
        cancellationToken.ThrowIfCancellationRequested();

        long inputBytes = batchSize * _inputBytesPerItem;
        long outputBytes = batchSize * _outputBytesPerItem;
        double ioMs;
        double execMs;
        double inMs;
        try
        {
            // The CUDA current device is per host thread, and the worker may be any thread.
            _cuda.SetDevice(_device);
            var buffers = _settings.CudaGraph ? GraphSlot(batchSize, 0) : Prepare(batchSize);

            long ioStart = Stopwatch.GetTimestamp();
            var directIn = DirectPointer(input);
            // Staging buffers grow only when used: a DMA-able input never needs one.
            if (directIn == IntPtr.Zero)
            {
                _hostInput.EnsureCapacity(_cuda, inputBytes);
                input.Span.CopyTo(_hostInput.AsSpan(batchSize * Model.InputElementsPerItem));
            }
            _cuda.MemcpyAsync(buffers.Input, directIn != IntPtr.Zero ? directIn : _hostInput.Pointer, inputBytes, CudaRuntime.MemcpyHostToDevice, _stream);
            _cuda.StreamSynchronize(_stream);
            ioMs = inMs = Stopwatch.GetElapsedTime(ioStart).TotalMilliseconds;

            using var runOptions = NewRunOptions(GraphId(batchSize, 0));
            using (cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions))
            {
                long execStart = Stopwatch.GetTimestamp();
                // Returns once ORT has synchronised its compute stream (run option
                // disable_synchronize_execution_providers is left at 0), so the output is complete.
                _session.RunWithBinding(runOptions, buffers.Binding ?? _binding);
                execMs = Stopwatch.GetElapsedTime(execStart).TotalMilliseconds;
            }
            _ranOnce = true;
            if (_settings.CudaGraph) _captured.Add(Captured(batchSize, 0));

            ioStart = Stopwatch.GetTimestamp();
            var directOut = DirectPointer(output);
            if (directOut == IntPtr.Zero) _hostOutput.EnsureCapacity(_cuda, outputBytes);
            _cuda.MemcpyAsync(directOut != IntPtr.Zero ? directOut : _hostOutput.Pointer, buffers.Output, outputBytes, CudaRuntime.MemcpyDeviceToHost, _stream);
            _cuda.StreamSynchronize(_stream);
            if (directOut == IntPtr.Zero) _hostOutput.AsSpan(batchSize * Model.OutputElementsPerItem).CopyTo(output.Span);
            ioMs += Stopwatch.GetElapsedTime(ioStart).TotalMilliseconds;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or CudaRuntimeException or OutOfMemoryException)
        {
            throw OrtErrorMapper.Map(ex, OrtStage.Run, Unit, Model, batchSize, cancellationToken);
        }
        return new RunTiming(execMs, ioMs) { HostToDeviceMs = inMs, DeviceToHostMs = ioMs - inMs };
    }


    /// <summary>
    /// Runs full chunks as a pipeline: while ORT computes chunk k on its stream, the copy of chunk k+1 into
    /// the other of two device buffer sets, and of chunk k−1's output back to the caller, run on this
    /// session's copy stream. Page-locked batch buffers (see <see cref="PinnedArrays"/>) are copied by DMA
    /// directly; others are staged through the session's pinned buffers. With CUDA graphs (fixed addresses
    /// per batch size) chunk k runs in slot k mod 2 of its size, whose graph replays that slot's buffers.
    /// </summary>
    public IReadOnlyList<RunTiming> RunChunks(ReadOnlyMemory<float> input, Memory<float> output, IReadOnlyList<int> chunkSizes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int total = chunkSizes.Sum();
        SessionValidation.CheckRun(Model, input.Length, output.Length, total);
        if (chunkSizes.Count < 2)
            return ChunkPipeline.RunOneByOne(this, input, output, chunkSizes, cancellationToken);
        bool graphs = _settings.CudaGraph;
        var source = DirectPointer(input);
        var target = DirectPointer(output);

        var timings = new RunTiming[chunkSizes.Count];
        int largest = chunkSizes.Max();
        try
        {
            _cuda.SetDevice(_device);
            for (int i = 0; i < 2; i++)
            {
                if (_pipeEvents[i] == IntPtr.Zero) _pipeEvents[i] = _cuda.CreateEvent();
                if (graphs) continue;
                if (_pipeBuffers[i] is null || _pipeBuffers[i]!.InputCapacity < largest * _inputBytesPerItem || _pipeBuffers[i]!.OutputCapacity < largest * _outputBytesPerItem)
                {
                    _pipeBindings[i] ??= _session.CreateIoBinding();
                    _pipeBindings[i]!.ClearBoundInputs();
                    _pipeBindings[i]!.ClearBoundOutputs();
                    _pipeBuffers[i]?.Dispose(_cuda);
                    _pipeBuffers[i] = null;
                    _pipeBuffers[i] = DeviceBuffers.Allocate(_cuda, largest * _inputBytesPerItem, largest * _outputBytesPerItem);
                }
            }
            DeviceBuffers SetOf(int k) => graphs ? GraphSlot(chunkSizes[k], k % 2) : _pipeBuffers[k % 2]!;
            // Memory that is not page-locked goes through the session's pinned staging buffers: the whole
            // input in before the pipeline starts, the whole output out after it ends.
            long stagingStart = Stopwatch.GetTimestamp();
            if (source == IntPtr.Zero)
            {
                _hostInput.EnsureCapacity(_cuda, total * _inputBytesPerItem);
                input.Span.CopyTo(_hostInput.AsSpan(total * Model.InputElementsPerItem));
                source = _hostInput.Pointer;
            }
            bool stagedOutput = target == IntPtr.Zero;
            if (stagedOutput)
            {
                _hostOutput.EnsureCapacity(_cuda, total * _outputBytesPerItem);
                target = _hostOutput.Pointer;
            }
            double stagingMs = Stopwatch.GetElapsedTime(stagingStart).TotalMilliseconds;
            var starts = new long[chunkSizes.Count];
            for (int k = 1; k < starts.Length; k++) starts[k] = starts[k - 1] + chunkSizes[k - 1];

            void CopyIn(int k)
            {
                var set = SetOf(k);
                _cuda.MemcpyAsync(set.Input, source + (nint)(starts[k] * _inputBytesPerItem), chunkSizes[k] * _inputBytesPerItem, CudaRuntime.MemcpyHostToDevice, _stream);
                _cuda.RecordEvent(_pipeEvents[k % 2], _stream);
            }

            CopyIn(0);
            for (int k = 0; k < chunkSizes.Count; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long waitStart = Stopwatch.GetTimestamp();
                _cuda.SynchronizeEvent(_pipeEvents[k % 2]);   // chunk k is on the device
                double waited = Stopwatch.GetElapsedTime(waitStart).TotalMilliseconds;
                if (k + 1 < chunkSizes.Count) CopyIn(k + 1);   // overlaps the run below

                var set = SetOf(k);
                var binding = graphs ? set.Binding! : _pipeBindings[k % 2]!;
                if (!graphs && set.BoundBatch != chunkSizes[k]) set.Bind(binding, _deviceMemory, Model, chunkSizes[k]);
                using var runOptions = NewRunOptions(GraphId(chunkSizes[k], k % 2));
                using var cancel = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
                long execStart = Stopwatch.GetTimestamp();
                _session.RunWithBinding(runOptions, binding);
                double exec = Stopwatch.GetElapsedTime(execStart).TotalMilliseconds;
                _ranOnce = true;
                if (graphs) _captured.Add(Captured(chunkSizes[k], k % 2));

                _cuda.MemcpyAsync(target + (nint)(starts[k] * _outputBytesPerItem), set.Output, chunkSizes[k] * _outputBytesPerItem, CudaRuntime.MemcpyDeviceToHost, _stream);
                timings[k] = new RunTiming(exec, waited) { HostToDeviceMs = waited };
            }
            long drainStart = Stopwatch.GetTimestamp();
            _cuda.StreamSynchronize(_stream);   // the last outputs are back
            if (stagedOutput) _hostOutput.AsSpan(total * Model.OutputElementsPerItem).CopyTo(output.Span);
            var last = timings[^1];
            double drainMs = Stopwatch.GetElapsedTime(drainStart).TotalMilliseconds;
            timings[^1] = last with { IoMs = last.IoMs + drainMs, DeviceToHostMs = drainMs };
            timings[0] = timings[0] with { IoMs = timings[0].IoMs + stagingMs, HostToDeviceMs = timings[0].HostToDeviceMs + stagingMs };
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or CudaRuntimeException or OutOfMemoryException)
        {
            try { _cuda.StreamSynchronize(_stream); } catch (CudaRuntimeException) { }
            throw OrtErrorMapper.Map(ex, OrtStage.Run, Unit, Model, largest, cancellationToken);
        }
        return timings;
    }

    /// <summary>
    /// The host address to DMA from or to when <paramref name="memory"/> lies in a page-locked batch buffer;
    /// zero when it must be staged. A large buffer is page-locked the second time a GPU session sees it; small
    /// ones (a classifier's outputs) are always staged.
    /// </summary>
    private IntPtr DirectPointer(ReadOnlyMemory<float> memory)
    {
        if (!PinnedArrays.TryGet(memory, out var array, out var offset)) return IntPtr.Zero;
        var registration = Registrations.GetValue(array, _ => new HostRegistration(_cuda));
        lock (registration)
        {
            if (!registration.Registered)
            {
                // Reusable buffers (pooled inputs, batches the caller keeps) are locked on their first use.
                bool reusable = PinnedArrays.IsReusable(array);
                long bytes = array.LongLength * sizeof(float);
                if (registration.Attempted || bytes < (reusable ? MinReusableRegistrationBytes : MinRegistrationBytes)
                    || (!reusable && ++registration.Uses < 2)) return IntPtr.Zero;
                Register(_cuda, registration, array);
                if (!registration.Registered) return IntPtr.Zero;
            }
            return registration.Pointer + (nint)((long)offset * sizeof(float));
        }
    }

    private static void Register(CudaRuntime cuda, HostRegistration registration, float[] array)
    {
        // Page-locking costs more than staging a small buffer, and a one-off large batch is cheaper to
        // stage once than to lock: callers lock large buffers on their second use, reusable ones on their first.
        registration.Attempted = true;
        var pointer = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        if (!cuda.TryHostRegister(pointer, array.LongLength * sizeof(float))) return;
        registration.Pointer = pointer;
        registration.Registered = true;
    }

    /// <summary>
    /// Page-locks a batch the caller keeps (New-HeteroBatch) at once when this process has loaded the CUDA
    /// runtime, so the batch's first run pays nothing for it; elsewhere it does nothing.
    /// </summary>
    public static void PageLock(float[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (!PinnedArrays.IsReusable(array) || array.LongLength * sizeof(float) < MinReusableRegistrationBytes) return;
        // Load the runtime only on a machine with a CUDA GPU to use (discovery is cached per process).
        var cuda = CudaRuntime.LoadedOrNull() ?? (Units.ComputeUnitDiscovery.Discover()
            .Any(u => u.Available && u.Kind == Units.ComputeUnitKind.Gpu && string.Equals(u.Backend, BackendNames.OrtCuda, StringComparison.OrdinalIgnoreCase))
            ? CudaRuntime.TryGet() : null);
        if (cuda is null) return;
        var registration = Registrations.GetValue(array, _ => new HostRegistration(cuda));
        lock (registration)
            if (!registration.Attempted) Register(cuda, registration, array);
    }

    /// <summary>A pinned array's page-locking; undone when the array is collected.</summary>
    private sealed class HostRegistration(CudaRuntime cuda)
    {
        public int Uses;
        public bool Attempted;
        public bool Registered;
        public IntPtr Pointer;

        ~HostRegistration()
        {
            if (Registered) cuda.HostUnregister(Pointer);
        }
    }

    /// <summary>Host and device buffers for this batch size, bound to the session's one binding (no CUDA graphs).</summary>
    private DeviceBuffers Prepare(int batchSize)
    {
        DeviceBuffers buffers;
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
        for (int i = 0; i < 2; i++)
        {
            _pipeBindings[i]?.Dispose();
            _pipeBuffers[i]?.Dispose(_cuda);
            _cuda.DestroyEvent(_pipeEvents[i]);
        }
        foreach (var buffers in _graphSlots.Values)
        {
            buffers.Binding?.Dispose();
            buffers.Dispose(_cuda);
        }
        _graphSlots.Clear();
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
        /// <summary>The binding of a CUDA graph slot (bound once); null for buffers bound to the session's shared bindings.</summary>
        public OrtIoBinding? Binding;
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
