namespace HeteroBatch.Engine.Units;

/// <summary>
/// Lists the units of one family (CPU, CUDA GPUs, OpenVINO devices). A provider never throws for a
/// missing runtime or driver: a machine without that family simply has no such unit, and a unit that
/// exists but cannot be used is listed with <see cref="ComputeUnit.Available"/> = false and a Reason.
/// </summary>
public interface IComputeUnitProvider
{
    /// <summary>Family name for diagnostics (<c>cpu</c>, <c>cuda</c>, <c>openvino</c>).</summary>
    string Family { get; }

    IReadOnlyList<ComputeUnit> Discover();
}
