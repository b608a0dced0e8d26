namespace HeteroBatch.Engine.Units;

/// <summary>The backend names a unit carries (<see cref="ComputeUnit.Backend"/>): which backend runs models on it. The
/// backends register under these names (<c>Backends.BackendNames</c> repeats them).</summary>
public static class UnitBackends
{
    public const string OrtCpu = "OnnxRuntime-CPU";
    public const string OrtCuda = "OnnxRuntime-CUDA";
    public const string OpenVino = "OpenVINO";
}
