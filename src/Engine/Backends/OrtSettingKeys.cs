using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends;

/// <summary>Settings keys each ONNX Runtime backend understands, so a typo is reported instead of ignored.</summary>
public static class OrtSettingKeys
{
    /// <summary>CPU: <c>allow_spinning</c> (0/1, default 0), <c>cpu_mem_arena</c> (0/1, default 1).</summary>
    public static readonly IReadOnlySet<string> Cpu = new HashSet<string>(StringComparer.Ordinal)
    {
        "allow_spinning", "cpu_mem_arena", "graph_optimization_level",
    };

    /// <summary>CUDA provider options passed through to ONNX Runtime, plus <c>graph_optimization_level</c>.</summary>
    public static readonly IReadOnlySet<string> Cuda = new HashSet<string>(StringComparer.Ordinal)
    {
        "cudnn_conv_algo_search", "cudnn_conv_use_max_workspace", "cudnn_conv1d_pad_to_nc1d", "prefer_nhwc",
        "use_tf32", "enable_cuda_graph", "do_copy_in_default_stream", "arena_extend_strategy", "gpu_mem_limit",
        "tunable_op_enable", "tunable_op_tuning_enable", "tunable_op_max_tuning_duration_ms",
        "enable_skip_layer_norm_strict_mode", "use_ep_level_unified_stream", "fuse_conv_bias", "sdpa_kernel",
        "graph_optimization_level",
    };

    /// <summary>
    /// Throws InvalidBackendOptions for a key neither backend knows. Keys of the other backend are
    /// tolerated, so one options set can be given to every unit of a run.
    /// </summary>
    public static void Check(BackendOptions options, IReadOnlySet<string> own, string backendName)
    {
        foreach (var key in options.Settings.Keys)
        {
            if (own.Contains(key) || Cpu.Contains(key) || Cuda.Contains(key)) continue;
            throw new HeteroBatchException(BackendErrorIds.InvalidBackendOptions, ErrorKind.InvalidArgument,
                $"Unknown backend setting '{key}' for {backendName}. Known settings: {string.Join(", ", own.Order(StringComparer.Ordinal))}.",
                key);
        }
    }

    public static GraphOptimizationLevel OptimizationLevel(BackendOptions options)
    {
        if (!options.Settings.TryGetValue("graph_optimization_level", out var value)) return GraphOptimizationLevel.ORT_ENABLE_ALL;
        return value.ToLowerInvariant() switch
        {
            "all" or "99" => GraphOptimizationLevel.ORT_ENABLE_ALL,
            "extended" or "2" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic" or "1" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "disabled" or "none" or "0" => GraphOptimizationLevel.ORT_DISABLE_ALL,
            _ => throw new HeteroBatchException(BackendErrorIds.InvalidBackendOptions, ErrorKind.InvalidArgument,
                $"graph_optimization_level must be all, extended, basic or disabled (got '{value}').", value),
        };
    }

    public static bool Flag(BackendOptions options, string key, bool defaultValue)
    {
        if (!options.Settings.TryGetValue(key, out var value)) return defaultValue;
        return value.Trim().ToLowerInvariant() switch
        {
            "1" or "true" or "on" or "yes" => true,
            "0" or "false" or "off" or "no" => false,
            _ => throw new HeteroBatchException(BackendErrorIds.InvalidBackendOptions, ErrorKind.InvalidArgument,
                $"Backend setting {key} must be 0 or 1 (got '{value}').", key),
        };
    }
}
