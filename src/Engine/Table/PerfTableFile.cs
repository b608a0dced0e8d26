using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeteroBatch.Engine.Table;

/// <summary>The on-disk shape of a perf table (schema version 1). Kept apart from <see cref="PerfEntry"/> so the file format is explicit.</summary>
internal sealed class PerfTableDocument
{
    public int? SchemaVersion { get; set; }
    public int? HistoryLimit { get; set; }
    public List<PerfRowDocument?>? Entries { get; set; }
}

internal sealed class PerfRowDocument
{
    public string? Model { get; set; }
    public string? ModelHash { get; set; }
    public string? MachineName { get; set; }
    public string? Unit { get; set; }
    public string? DeviceName { get; set; }
    public string? Backend { get; set; }
    public string? BackendOptions { get; set; }
    public int BatchSize { get; set; }
    public double ExecMs { get; set; }
    public double IoMs { get; set; }
    public double HostToDeviceMs { get; set; }
    public double DeviceToHostMs { get; set; }
    public int Repeats { get; set; }
    public double SpreadMs { get; set; }
    public string? Status { get; set; }
    public DateTimeOffset Timestamp { get; set; }
    // Optional (tables written before them load with null: unknown), and left out of the file while unknown.
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? OpenMs { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? WarmUpMs { get; set; }
    public List<PerfSampleDocument?>? History { get; set; }

    public static PerfRowDocument From(PerfEntry e) => new()
    {
        Model = e.Model,
        ModelHash = e.ModelHash,
        MachineName = e.MachineName,
        Unit = e.Unit,
        DeviceName = e.DeviceName,
        Backend = e.Backend,
        BackendOptions = e.BackendOptions,
        BatchSize = e.BatchSize,
        ExecMs = e.ExecMs,
        IoMs = e.IoMs,
        HostToDeviceMs = e.HostToDeviceMs,
        DeviceToHostMs = e.DeviceToHostMs,
        Repeats = e.Repeats,
        SpreadMs = e.SpreadMs,
        Status = e.Status,
        Timestamp = e.Timestamp,
        OpenMs = e.OpenMs,
        WarmUpMs = e.WarmUpMs,
        History = e.History.Select(h => (PerfSampleDocument?)new PerfSampleDocument { ExecMs = h.ExecMs, IoMs = h.IoMs, Timestamp = h.Timestamp }).ToList(),
    };

    public PerfEntry ToEntry() => new()
    {
        Model = Model!,
        ModelHash = ModelHash ?? "",
        MachineName = MachineName!,
        Unit = Unit!,
        DeviceName = DeviceName ?? "",
        Backend = Backend ?? "",
        BackendOptions = BackendOptions ?? "",
        BatchSize = BatchSize,
        ExecMs = ExecMs,
        IoMs = IoMs,
        HostToDeviceMs = HostToDeviceMs,
        DeviceToHostMs = DeviceToHostMs,
        Repeats = Repeats,
        SpreadMs = SpreadMs,
        Status = Status ?? PerfStatus.Ok,
        Timestamp = Timestamp,
        OpenMs = OpenMs,
        WarmUpMs = WarmUpMs,
        History = (History ?? new()).Select(h => h is null ? null! : new PerfSample(h.ExecMs, h.IoMs, h.Timestamp)).ToArray(),
    };
}

internal sealed class PerfSampleDocument
{
    public double ExecMs { get; set; }
    public double IoMs { get; set; }
    public DateTimeOffset Timestamp { get; set; }
}

// Source-generated so the engine needs no reflection serializer; camelCase, indented for people,
// tolerant of comments and trailing commas left by hand edits. Numbers are written in the shortest
// round-trip form and always with the invariant culture.
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(PerfTableDocument))]
internal sealed partial class PerfTableJsonContext : JsonSerializerContext
{
}
