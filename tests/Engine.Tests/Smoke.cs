using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace HeteroBatch.Engine.Tests;

/// <summary>The ONNX Runtime native library loads and offers the CPU provider every backend relies on.</summary>
public class Smoke
{
    [Fact]
    public void OnnxRuntimeNativeLibraryLoadsWithTheCpuProvider()
    {
        var providers = OrtEnv.Instance().GetAvailableProviders();
        Assert.Contains("CPUExecutionProvider", providers);
        Assert.False(string.IsNullOrWhiteSpace(OrtEnv.Instance().GetVersionString()));
    }
}
