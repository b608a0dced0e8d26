namespace HeteroBatch.Engine.Units;

/// <summary>The families of compute unit the engine knows.</summary>
public enum ComputeUnitKind
{
    Cpu,
    Gpu,
    Accelerator,
}

/// <summary>
/// One compute unit of a machine: the CPU, a CUDA GPU, an OpenVINO device. A plain record with stable
/// property names so it survives remoting and JSON/CSV round trips.
/// </summary>
public sealed record ComputeUnit
{
    /// <summary>Stable id on its machine: <c>cpu</c>, <c>gpu0</c>, <c>gpu1</c>, <c>openvino:GPU.0</c>.</summary>
    public required string Id { get; init; }
    public required ComputeUnitKind Kind { get; init; }
    /// <summary>Backend that runs models on it; see <see cref="UnitBackends"/>.</summary>
    public required string Backend { get; init; }
    /// <summary>Device name as the OS or driver reports it (CPU model name, GPU product name).</summary>
    public required string Name { get; init; }
    public string MachineName { get; init; } = Environment.MachineName;
    /// <summary>Ordinal for the backend (CUDA device id); 0 for the CPU.</summary>
    public int DeviceIndex { get; init; }
    public long? MemoryBytes { get; init; }
    public int? PhysicalCores { get; init; }
    public int? LogicalCores { get; init; }
    public int? Multiprocessors { get; init; }
    public string? ComputeCapability { get; init; }
    public string? DriverVersion { get; init; }
    /// <summary>ISA features (AVX2, AVX512F, AMX...) or device capabilities.</summary>
    public string[] Features { get; init; } = Array.Empty<string>();
    public bool Available { get; init; } = true;
    /// <summary>Why the unit cannot be used, and what to install or set; null when available.</summary>
    public string? Reason { get; init; }
}
