using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Tests.Backends;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>The models the execution tests run: zoo networks from a cache folder shared by test runs.</summary>
internal static class ExecutionTestModels
{
    public static string CacheDirectory { get; } = Path.Combine(Path.GetTempPath(), "heterobatch-execution-tests", "models");

    private static readonly Lazy<ModelInfo> TinyNet = new(() => ModelResolver.Resolve("tinynet", CacheDirectory));
    private static readonly Lazy<ModelInfo> MobileNet = new(() => ModelResolver.Resolve("mobilenet", CacheDirectory));

    /// <summary>The zoo's tinynet (3x32x32 → 10).</summary>
    public static ModelInfo Small => TinyNet.Value;

    /// <summary>The zoo's mobilenet (3x224x224 → 1000), used once.</summary>
    public static ModelInfo Mobile => MobileNet.Value;

    /// <summary>A model slow enough per item that a run can be watched and cancelled (the backends tests' deep MatMul chain).</summary>
    public static ModelInfo Slow => TestOnnxModels.DeepMatMul;

    /// <summary>Items of <see cref="Slow"/> that take roughly a second on one thread.</summary>
    public const int SlowItemsPerUnit = 512;
}
