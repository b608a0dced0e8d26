using HeteroBatch.Engine.Units;
using Xunit;

namespace HeteroBatch.Engine.Tests.Backends.Cuda;

/// <summary>The first usable GPU of this machine, or a skip that says why there is none.</summary>
internal static class CudaTestUnits
{
    public static ComputeUnit RequireGpu()
    {
        var gpus = ComputeUnitDiscovery.Discover(ComputeUnitKind.Gpu);
        var usable = gpus.FirstOrDefault(u => u.Available);
        Skip.If(usable is null, gpus.Count == 0
            ? "No NVIDIA GPU on this machine (no CUDA driver): CUDA session tests need one."
            : "No usable GPU: " + string.Join(" | ", gpus.Select(g => $"{g.Id}: {g.Reason}")));
        return usable!;
    }
}
