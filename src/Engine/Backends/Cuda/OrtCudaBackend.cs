using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Units.Cuda;
using Microsoft.ML.OnnxRuntime;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends.Cuda;

/// <summary>ONNX Runtime's CUDA execution provider, one session per GPU (device_id = unit.DeviceIndex).</summary>
public sealed class OrtCudaBackend : IInferenceBackend
{
    public string Name => BackendNames.OrtCuda;

    public bool Supports(ComputeUnit unit) => unit.Kind == ComputeUnitKind.Gpu
        && string.Equals(unit.Backend, BackendNames.OrtCuda, StringComparison.OrdinalIgnoreCase);

    public IInferenceSession CreateSession(ModelInfo model, ComputeUnit unit, BackendOptions options)
    {
        options = SessionValidation.CheckCreate(this, model, unit, options);
        if (!unit.Available)
            throw new HeteroBatchException(BackendErrorIds.CudaProviderUnavailable, ErrorKind.NotInstalled,
                $"{unit.Id} ({unit.Name}) cannot be used: {unit.Reason}", unit.Id);
        OrtSettingKeys.Check(options, OrtSettingKeys.Cuda, Name);
        var settings = CudaProviderSettings.From(options, unit.DeviceIndex);

        InferenceSession session;
        CudaRuntime cuda;
        try
        {
            (session, cuda) = Open(model, unit, options, settings);
        }
        catch (HeteroBatchException ex) when (settings.CudaGraphDefaulted && ex.ErrorId != Models.ModelErrorIds.ModelNotFound
            && ex.Message.Contains("graph", StringComparison.OrdinalIgnoreCase))
        {
            // Graph capture needs every node on the GPU; a model with CPU nodes runs without graphs.
            settings = settings.WithoutGraphs();
            (session, cuda) = Open(model, unit, options, settings);
        }
        try
        {
            return new OrtCudaSession(session, cuda, model, unit, options, settings);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static (InferenceSession Session, CudaRuntime Cuda) Open(ModelInfo model, ComputeUnit unit, BackendOptions options, CudaProviderSettings settings)
    {
        using var sessionOptions = BuildSessionOptions(options, settings, unit, model);
        // Our own copies need libcudart, which the provider has just loaded as a dependency; this only
        // fails on a machine whose discovery was bypassed.
        var cuda = CudaRuntime.TryGet() ?? throw new HeteroBatchException(BackendErrorIds.CudaProviderUnavailable, ErrorKind.NotInstalled,
            $"{unit.Id} cannot be used: " + (CudaProviderProbe.Default.Check().Reason
                ?? $"{CudaRuntime.LibraryName} could not be loaded."), unit.Id);
        return (OrtSessionFactory.Open(model, unit, sessionOptions), cuda);
    }

    private static SessionOptions BuildSessionOptions(BackendOptions options, CudaProviderSettings settings, ComputeUnit unit, ModelInfo model)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = OrtSettingKeys.OptimizationLevel(options),
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            // The CPU provider only runs the odd node the GPU lacks: one thread, never spinning, so it does
            // not compete with the CPU unit's own session.
            IntraOpNumThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads : 1,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        try
        {
            // Creating/updating the provider options already loads libonnxruntime_providers_cuda.
            using var cudaOptions = new OrtCUDAProviderOptions();
            cudaOptions.UpdateOptions(new Dictionary<string, string>(settings.ProviderOptions));
            sessionOptions.AppendExecutionProvider_CUDA(cudaOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            sessionOptions.Dispose();
            if (OrtErrorMapper.IsProviderLoadFailure(ex.Message))
                throw OrtErrorMapper.Map(ex, OrtStage.ProviderInit, unit, model);
            throw new HeteroBatchException(BackendErrorIds.InvalidBackendOptions, ErrorKind.InvalidArgument,
                $"ONNX Runtime rejected the CUDA settings '{options.Key}': {ex.Message}", options.Key, ex);
        }
        return sessionOptions;
    }
}
