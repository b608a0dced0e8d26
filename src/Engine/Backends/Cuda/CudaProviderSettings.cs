using System.Globalization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends.Cuda;

/// <summary>
/// The CUDA provider options of a session, from <see cref="BackendOptions.Settings"/>: every CUDA key of
/// <see cref="OrtSettingKeys.Cuda"/> except graph_optimization_level is passed to ONNX Runtime as is,
/// after a check of the values the engine itself relies on.
/// </summary>
public sealed record CudaProviderSettings
{
    public required int DeviceId { get; init; }
    public required IReadOnlyDictionary<string, string> ProviderOptions { get; init; }
    /// <summary>True when enable_cuda_graph=1: each batch size then gets its own device buffers and graph id.</summary>
    public bool CudaGraph { get; init; }
    /// <summary>True when the graph setting was not given and the engine chose it: a model whose nodes cannot all
    /// run on the GPU then opens without graphs instead of failing.</summary>
    public bool CudaGraphDefaulted { get; init; }

    /// <summary>These settings with CUDA graphs off (the fallback of a model that cannot be captured).</summary>
    public CudaProviderSettings WithoutGraphs()
    {
        var provider = new Dictionary<string, string>(ProviderOptions, StringComparer.Ordinal) { ["enable_cuda_graph"] = "0" };
        return this with { ProviderOptions = provider, CudaGraph = false, CudaGraphDefaulted = false };
    }

    private static readonly string[] AlgoSearchValues = { "EXHAUSTIVE", "HEURISTIC", "DEFAULT" };
    private static readonly string[] ArenaStrategies = { "kNextPowerOfTwo", "kSameAsRequested" };
    private static readonly string[] BooleanKeys =
    {
        "cudnn_conv_use_max_workspace", "cudnn_conv1d_pad_to_nc1d", "prefer_nhwc", "use_tf32", "enable_cuda_graph",
        "do_copy_in_default_stream", "tunable_op_enable", "tunable_op_tuning_enable", "enable_skip_layer_norm_strict_mode",
        "use_ep_level_unified_stream", "fuse_conv_bias",
    };

    public static CudaProviderSettings From(BackendOptions options, int deviceId)
    {
        var provider = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, rawValue) in options.Settings)
        {
            if (!OrtSettingKeys.Cuda.Contains(key) || key == "graph_optimization_level") continue;
            var value = rawValue.Trim();
            if (key == "cudnn_conv_algo_search")
                value = OneOf(key, value, AlgoSearchValues);
            else if (key == "arena_extend_strategy")
                value = OneOf(key, value, ArenaStrategies);
            else if (BooleanKeys.Contains(key))
                value = OrtSettingKeys.Flag(options, key, false) ? "1" : "0";
            else if (key is "gpu_mem_limit" or "tunable_op_max_tuning_duration_ms" or "sdpa_kernel"
                     && !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                throw Invalid(key, value, "a whole number");
            provider[key] = value;
        }
        // NHWC kernels unless asked otherwise: measured on an H100 (bench/results/gpu-h100-2026-11-26.md), ResNet-50
        // batch 128 ran its compute in 18.0 ms against 21.0 ms with ORT's NCHW default, VGG-16 in 25.1 against 31.5.
        provider.TryAdd("prefer_nhwc", "1");
        // A CUDA graph per batch size unless asked otherwise: ORT 1.31's Conv keeps the cuDNN plan of the last input
        // shape only, so a session that alternates sizes searches again at every change (480-650 ms for ResNet-50 on
        // an H200, bench/results/gpu-h200-2026-12-01.md); a replayed graph runs the kernels chosen when the size was first warmed.
        bool graphDefaulted = provider.TryAdd("enable_cuda_graph", "1");
        return new CudaProviderSettings
        {
            DeviceId = deviceId,
            ProviderOptions = provider,
            CudaGraph = provider.TryGetValue("enable_cuda_graph", out var graph) && graph == "1",
            CudaGraphDefaulted = graphDefaulted,
        };
    }

    private static string OneOf(string key, string value, string[] allowed) =>
        allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase))
        ?? throw Invalid(key, value, string.Join(", ", allowed));

    private static HeteroBatchException Invalid(string key, string value, string expected) =>
        new(BackendErrorIds.InvalidBackendOptions, ErrorKind.InvalidArgument, $"CUDA setting {key}='{value}' is invalid; expected {expected}.", key);
}
