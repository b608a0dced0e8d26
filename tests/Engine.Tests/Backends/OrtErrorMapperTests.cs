using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace HeteroBatch.Engine.Tests.Backends;

/// <summary>
/// The mapping is tested with exceptions ONNX Runtime really throws on this CPU machine, and with the
/// exact texts its CUDA provider produces (which need a GPU to provoke).
/// </summary>
public class OrtErrorMapperTests
{
    private readonly ITestOutputHelper _output;

    public OrtErrorMapperTests(ITestOutputHelper output) => _output = output;

    private static ComputeUnit Cpu => ComputeUnitDiscovery.Find("cpu");

    private static readonly ComputeUnit Gpu0 = new()
    {
        Id = "gpu0", Kind = ComputeUnitKind.Gpu, Backend = BackendNames.OrtCuda, Name = "NVIDIA H100 80GB HBM3", DeviceIndex = 0,
    };

    private OnnxRuntimeException Capture(Action action)
    {
        var error = Assert.Throws<OnnxRuntimeException>(action);
        _output.WriteLine(error.Message);
        return error;
    }

    [Fact]
    public void A_real_allocation_failure_is_UnitOutOfMemory()
    {
        using var session = new InferenceSession(TestOnnxModels.ConstantOfShapePath);
        // 2^48 floats = 1 PiB: beyond any address space, so the allocation fails whatever the overcommit policy.
        using var shape = OrtValue.CreateTensorValueFromMemory(new long[] { 1L << 48 }, new long[] { 1 });
        var ortError = Capture(() => session.Run(new RunOptions(), new[] { "shape" }, new[] { shape }, new[] { "output" }).Dispose());
        Assert.True(OrtErrorMapper.IsOutOfMemory(ortError.Message), ortError.Message);

        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(ortError, OrtStage.Run, Cpu, TestOnnxModels.ConvNet, 64));
        Assert.Equal("UnitOutOfMemory", mapped.ErrorId);
        Assert.Equal(ErrorKind.LimitsExceeded, mapped.Kind);
        Assert.Same(ortError, mapped.InnerException);
        Assert.Contains("batch size 64", mapped.Message);
    }

    [Fact]
    public void A_real_dimension_error_is_InvalidInputShape()
    {
        var model = TestOnnxModels.ConvNet;
        using var session = new InferenceSession(model.Path);
        var wrong = new DenseTensor<float>(new[] { 1, 4, 8, 8 });
        var ortError = Capture(() => session.Run(new[] { NamedOnnxValue.CreateFromTensor("input", wrong) }).Dispose());

        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(ortError, OrtStage.Run, Cpu, model, 1));
        Assert.Equal("InvalidInputShape", mapped.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, mapped.Kind);
    }

    [Fact]
    public void A_real_terminated_run_maps_to_OperationCanceledException()
    {
        var model = TestOnnxModels.ConvNet;
        using var session = new InferenceSession(model.Path);
        using var input = OrtValue.CreateTensorValueFromMemory(new float[model.InputElementsPerItem], new long[] { 1, 3, 8, 8 });
        using var runOptions = new RunOptions { Terminate = true };
        var ortError = Capture(() => session.Run(runOptions, new[] { "input" }, new[] { input }, new[] { "output" }).Dispose());
        Assert.True(OrtErrorMapper.IsTermination(ortError.Message), ortError.Message);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var cancelled = Assert.IsAssignableFrom<OperationCanceledException>(OrtErrorMapper.Map(ortError, OrtStage.Run, Cpu, model, 1, cts.Token));
        Assert.Equal(cts.Token, cancelled.CancellationToken);
        Assert.IsAssignableFrom<OperationCanceledException>(OrtErrorMapper.Map(ortError, OrtStage.Run, Cpu, model, 1));
    }

    [Fact]
    public void A_real_unparsable_model_is_ModelLoadFailed()
    {
        var corrupt = TestOnnxModels.Corrupt();
        var ortError = Capture(() => new InferenceSession(corrupt.Path).Dispose());
        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(ortError, OrtStage.Load, Cpu, corrupt));
        Assert.Equal("ModelLoadFailed", mapped.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, mapped.Kind);
        Assert.Equal(corrupt.Path, mapped.Target);
    }

    [SkippableFact]
    public void The_real_cuda_provider_failure_on_a_machine_without_CUDA_is_CudaProviderUnavailable()
    {
        Skip.If(Engine.Units.Cuda.CudaProviderProbe.Default.Check().Usable, "CUDA 13 libraries are present here: the provider would load.");
        using var options = new SessionOptions();
        var ortError = Capture(() => options.AppendExecutionProvider_CUDA(0));
        Assert.True(OrtErrorMapper.IsProviderLoadFailure(ortError.Message), ortError.Message);

        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(ortError, OrtStage.ProviderInit, Gpu0, TestOnnxModels.ConvNet));
        Assert.Equal("CudaProviderUnavailable", mapped.ErrorId);
        Assert.Equal(ErrorKind.NotInstalled, mapped.Kind);
        // The same kind of Reason discovery gives: the missing library and where to get it.
        Assert.Contains(".so", mapped.Message);
        Assert.Contains("LD_LIBRARY_PATH", mapped.Message);
    }

    // Texts as ONNX Runtime's CUDA provider formats them (CUDA_CALL / CUBLAS_CALL / CUDNN_CALL / BFC arena).
    [Theory]
    [InlineData("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running Conv node. Name:'/conv1/Conv' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:359 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 1644167168")]
    [InlineData("[ONNXRuntimeError] : 1 : FAIL : CUDA failure 2: out of memory ; GPU=0 ; hostname=node1 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_allocator.cc ; line=50 ; expr=cudaMalloc((void**)&p, size);")]
    [InlineData("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running MatMul node. Name:'MatMul_12' Status Message: CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED ; GPU=0 ; hostname=node1 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/math/matmul.cc ; line=266 ; expr=cublasGemmHelper(")]
    [InlineData("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running Conv node. Name:'Conv_0' Status Message: CUDNN failure 2: CUDNN_STATUS_ALLOC_FAILED ; GPU=0 ; hostname=node1 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/nn/conv.cc ; line=394 ; expr=cudnnFindConvolutionForwardAlgorithmEx(")]
    [InlineData("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Exception during initialization: std::bad_alloc")]
    public void Gpu_and_cpu_allocation_failures_are_UnitOutOfMemory(string message)
    {
        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(new Exception(message), OrtStage.Run, Gpu0, TestOnnxModels.ConvNet, 128));
        Assert.Equal("UnitOutOfMemory", mapped.ErrorId);
        Assert.Contains("gpu0", mapped.Message);
        Assert.Contains("nvidia-smi", mapped.Message);
    }

    [Fact]
    public void Other_gpu_failures_are_InferenceFailed_device_errors_and_engine_errors_pass_through()
    {
        var message = "[ONNXRuntimeError] : 1 : FAIL : CUDA failure 700: an illegal memory access was encountered ; GPU=0 ; hostname=node1 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=446 ; expr=cudaStreamSynchronize(static_cast<cudaStream_t>(stream));";
        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(new Exception(message), OrtStage.Run, Gpu0, TestOnnxModels.ConvNet, 8));
        Assert.Equal("InferenceFailed", mapped.ErrorId);
        Assert.Equal(ErrorKind.DeviceError, mapped.Kind);

        var engineError = new HeteroBatchException("InvalidBatchSize", ErrorKind.InvalidArgument, "x");
        Assert.Same(engineError, OrtErrorMapper.Map(engineError, OrtStage.Run, Gpu0, null));
    }

    [Fact]
    public void Dotnet_OutOfMemoryException_is_UnitOutOfMemory()
    {
        var mapped = Assert.IsType<HeteroBatchException>(OrtErrorMapper.Map(new OutOfMemoryException(), OrtStage.Run, Cpu, TestOnnxModels.ConvNet, 4));
        Assert.Equal("UnitOutOfMemory", mapped.ErrorId);
    }
}
