namespace HeteroBatch.Engine.Table;

/// <summary>Outcome of one profiled point.</summary>
public static class PerfStatus
{
    /// <summary>Measured normally.</summary>
    public const string Ok = "Ok";
    /// <summary>The unit ran out of memory at this batch size: it is the unit's limit.</summary>
    public const string OutOfMemory = "OutOfMemory";
    /// <summary>One run exceeded the time budget; larger sizes were not tried.</summary>
    public const string TooSlow = "TooSlow";
}

/// <summary>An earlier measurement of the same key, kept so drift can be seen.</summary>
public sealed record PerfSample(double ExecMs, double IoMs, DateTimeOffset Timestamp);

/// <summary>
/// One row of the performance table: a unit's time for one batch size of one model. The key is
/// (MachineName, Unit, DeviceName, Backend, BackendOptions, ModelHash, BatchSize); Model is the
/// human name, kept beside the hash. Plain properties so CSV/JSON/remoting round trips keep it whole.
/// </summary>
public sealed record PerfEntry
{
    public required string Model { get; init; }
    /// <summary>Content hash of the model; empty when imported from a source that lacks it (then Model is the identity).</summary>
    public string ModelHash { get; init; } = "";
    public string MachineName { get; init; } = Environment.MachineName;
    public required string Unit { get; init; }
    public string DeviceName { get; init; } = "";
    public string Backend { get; init; } = "";
    /// <summary><see cref="Table.BackendOptions.Key"/> of the options the numbers were measured with.</summary>
    public string BackendOptions { get; init; } = "";
    public required int BatchSize { get; init; }
    /// <summary>Mean execution time (compute only) over the timed runs, milliseconds.</summary>
    public required double ExecMs { get; init; }
    /// <summary>Mean input transfer + output read-back time over the timed runs, milliseconds.</summary>
    public double IoMs { get; init; }
    /// <summary>Of <see cref="IoMs"/>: the input's copy to the device (GPU units; 0 where nothing is copied).</summary>
    public double HostToDeviceMs { get; init; }
    /// <summary>Of <see cref="IoMs"/>: the output's copy back from the device (GPU units; 0 where nothing is copied).</summary>
    public double DeviceToHostMs { get; init; }
    public double TotalMs => ExecMs + IoMs;
    public double MsPerItem => BatchSize > 0 ? TotalMs / BatchSize : double.NaN;
    public double ItemsPerSecond => TotalMs > 0 ? BatchSize * 1000.0 / TotalMs : double.NaN;
    public int Repeats { get; init; }
    /// <summary>Spread of the total time over the repeats (interquartile range), milliseconds.</summary>
    public double SpreadMs { get; init; }
    public string Status { get; init; } = PerfStatus.Ok;
    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>
    /// One-time cost of opening the unit's session for the model with these options: loading the model, creating the
    /// session and its first run (on a CPU the first run's allocations; on a GPU the device context and library
    /// handles), milliseconds. The same for every batch size of a profile; the profiler records it when it opened the
    /// session itself. Null: unknown (a table written before it was recorded, or profiled on a session already open).
    /// The planner uses it to leave out a cold unit whose setup costs more than it saves.
    /// </summary>
    public double? OpenMs { get; init; }
    /// <summary>
    /// One-time cost of this batch size on an open session, beyond its first run (a GPU's algorithm search and graph
    /// capture for the size; 0 on a CPU, where one warm size warms them all), milliseconds. Null: unknown.
    /// </summary>
    public double? WarmUpMs { get; init; }
    /// <summary>Older measurements of this key, newest first, bounded by the table's history limit.</summary>
    public IReadOnlyList<PerfSample> History { get; init; } = Array.Empty<PerfSample>();
}
