using System.Collections.Concurrent;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends.Cpu;

/// <summary>ONNX Runtime's CPU execution provider on the <c>cpu</c> unit.</summary>
public sealed class OrtCpuBackend : IInferenceBackend
{
    // SessionOptions are only read when a session is created; one per options key for the process.
    private static readonly ConcurrentDictionary<string, SessionOptions> OptionsByKey = new(StringComparer.Ordinal);

    public string Name => BackendNames.OrtCpu;

    public bool Supports(ComputeUnit unit) => unit.Kind == ComputeUnitKind.Cpu
        && string.Equals(unit.Backend, BackendNames.OrtCpu, StringComparison.OrdinalIgnoreCase);

    public IInferenceSession CreateSession(ModelInfo model, ComputeUnit unit, BackendOptions options)
    {
        options = SessionValidation.CheckCreate(this, model, unit, options);
        OrtSettingKeys.Check(options, OrtSettingKeys.Cpu, Name);
        if (options.IntraOpThreads < 0)
            throw new HeteroBatchException(BackendErrorIds.InvalidBackendOptions, ErrorKind.InvalidArgument,
                $"IntraOpThreads must be 0 (default) or more; got {options.IntraOpThreads}.", options.IntraOpThreads);

        var sessionOptions = OptionsByKey.GetOrAdd(options.Key, _ => BuildSessionOptions(options));
        var session = OrtSessionFactory.Open(model, unit, sessionOptions);
        return new OrtCpuSession(session, model, unit, options);
    }

    internal static SessionOptions BuildSessionOptions(BackendOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = OrtSettingKeys.OptimizationLevel(options),
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            EnableCpuMemArena = OrtSettingKeys.Flag(options, "cpu_mem_arena", true),
            // Failures reach the caller as typed exceptions; ORT's own log lines would only be noise.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        // Idle spinning workers would steal cores from the threads that feed the GPUs.
        string spin = OrtSettingKeys.Flag(options, "allow_spinning", false) ? "1" : "0";
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", spin);
        sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", spin);
        return sessionOptions;
    }
}
