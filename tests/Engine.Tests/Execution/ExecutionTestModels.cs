using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Tests.Backends;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>The models the execution tests run.</summary>
internal static class ExecutionTestModels
{
    /// <summary>A small fast conv net.</summary>
    public static ModelInfo Small => TestOnnxModels.ConvNet;

    /// <summary>A model slow enough per item that a run can be watched and cancelled.</summary>
    public static ModelInfo Slow => TestOnnxModels.DeepMatMul;

    /// <summary>Items of <see cref="Slow"/> that take roughly a second on one thread.</summary>
    public const int SlowItemsPerUnit = 512;
}
