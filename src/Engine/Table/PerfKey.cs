namespace HeteroBatch.Engine.Table;

/// <summary>
/// Identity of a perf-table row: machine, unit, device, backend, backend options, model identity and
/// batch size. Text parts compare case-insensitively. The model identity is the hash when the row has
/// one, else the model name (rows imported from CSV may lack the hash).
/// </summary>
public readonly record struct PerfKey
{
    public PerfKey(string machineName, string unit, string deviceName, string backend, string backendOptions, string modelIdentity, int batchSize)
    {
        MachineName = Norm(machineName);
        Unit = Norm(unit);
        DeviceName = Norm(deviceName);
        Backend = Norm(backend);
        BackendOptions = Norm(backendOptions);
        ModelIdentity = Norm(modelIdentity);
        BatchSize = batchSize;
    }

    public string MachineName { get; }
    public string Unit { get; }
    public string DeviceName { get; }
    public string Backend { get; }
    public string BackendOptions { get; }
    public string ModelIdentity { get; }
    public int BatchSize { get; }

    /// <summary>The key of <paramref name="entry"/>.</summary>
    public static PerfKey Of(PerfEntry entry) => new(
        entry.MachineName ?? "", entry.Unit ?? "", entry.DeviceName ?? "", entry.Backend ?? "",
        entry.BackendOptions ?? "", ModelIdentityOf(entry), entry.BatchSize);

    /// <summary>The hash when present, else the model name.</summary>
    public static string ModelIdentityOf(PerfEntry entry) =>
        string.IsNullOrWhiteSpace(entry.ModelHash) ? entry.Model ?? "" : entry.ModelHash;

    /// <summary>The same key with another batch size (the rows of one unit's cost curve share everything else).</summary>
    public PerfKey WithBatchSize(int batchSize) =>
        new(MachineName, Unit, DeviceName, Backend, BackendOptions, ModelIdentity, batchSize);

    // Upper-invariant so equality and hashing of the record struct are case-insensitive.
    private static string Norm(string? s) => (s ?? "").Trim().ToUpperInvariant();

    public override string ToString() =>
        $"{MachineName}/{Unit} [{DeviceName}; {Backend}; {BackendOptions}] {ModelIdentity} @ {BatchSize}";
}
