using System.Management.Automation;
using HeteroBatch.Engine.Table;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Merges records into the performance table (by property name, from Measure-BatchProfile, remote
/// sessions, Import-Csv or ConvertFrom-Json), edits one entry, or removes entries.
/// </summary>
[Cmdlet(VerbsCommon.Set, "PerfTable", DefaultParameterSetName = MergeSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PerfEntry))]
public sealed class SetPerfTableCommand : HeteroBatchCmdlet
{
    private const string MergeSet = "Merge";
    private const string RemoveSet = "Remove";

    private readonly List<PerfEntry> _incoming = new();
    private PerfEntryEdit? _singleEdit;

    /// <summary>Model name (zoo name or file name) of the row; with -Remove, the model whose rows go (name or hash).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RemoveSet)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string Model { get; set; } = "";

    /// <summary>Unit the numbers belong to (cpu, gpu0, or another machine's unit name).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RemoveSet)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    public string Unit { get; set; } = "";

    /// <summary>Batch size of the row (a positive integer); with -Remove, only rows of this size.</summary>
    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RemoveSet)]
    public int BatchSize { get; set; }

    /// <summary>Execution (compute) time in milliseconds.</summary>
    [Parameter(Mandatory = true, Position = 3, ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public double ExecMs { get; set; }

    /// <summary>Input transfer plus output read-back time in milliseconds; 0 when not given for a new row.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public double IoMs { get; set; }

    /// <summary>Of IoMs, the input's copy to the device in milliseconds (GPU rows); 0 when not given.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public double HostToDeviceMs { get; set; }

    /// <summary>Of IoMs, the output's copy back from the device in milliseconds (GPU rows); 0 when not given.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public double DeviceToHostMs { get; set; }

    /// <summary>Content hash (SHA-256) of the model; rows without it are keyed by model name.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public string? ModelHash { get; set; }

    /// <summary>Machine the numbers were measured on; default this machine.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("PSComputerName")]
    public string? MachineName { get; set; }

    /// <summary>Device name of the unit (e.g. the GPU's product name).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public string? DeviceName { get; set; }

    /// <summary>Backend that measured the row (OnnxRuntime-CPU, OnnxRuntime-CUDA).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public string? Backend { get; set; }

    /// <summary>Backend options key the row was measured with (e.g. threads=2).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public string? BackendOptions { get; set; }

    /// <summary>How many timed runs the medians come from.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public int Repeats { get; set; }

    /// <summary>Interquartile range of the total time over the repeats, milliseconds.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public double SpreadMs { get; set; }

    /// <summary>One-time cost of opening the unit's session (model load and first run), milliseconds; empty or absent:
    /// unknown (a merged row without it keeps the stored value).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    [EmptyAsNull]
    public double? OpenMs { get; set; }

    /// <summary>One-time cost of this batch size on an open session (a GPU's algorithm search and graph capture),
    /// milliseconds; empty or absent: unknown.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    [EmptyAsNull]
    public double? WarmUpMs { get; set; }

    /// <summary>Ok, OutOfMemory (the unit's limit) or TooSlow.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    [ValidateSet(PerfStatus.Ok, PerfStatus.OutOfMemory, PerfStatus.TooSlow, IgnoreCase = true)]
    public string? Status { get; set; }

    /// <summary>When the row was measured; default now. A row older than the table's is not applied (a warning names it
    /// when its numbers differ); a time cut to whole seconds, as Export-Csv writes it, counts as the stored row's time.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = MergeSet)]
    public DateTimeOffset? Timestamp { get; set; }

    /// <summary>Remove the rows selected by -Model, -Unit, -MachineName and -BatchSize (at least -Model or -Unit).</summary>
    [Parameter(Mandatory = true, ParameterSetName = RemoveSet)]
    public SwitchParameter Remove { get; set; }

    /// <summary>How many older measurements a row keeps in its history (default: the table's, 10).</summary>
    [Parameter(ParameterSetName = MergeSet)]
    [ValidateRange(0, 1000)]
    public int? HistoryLimit { get; set; }

    /// <summary>Write the merged (or removed) rows to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The table file; default: $env:HETEROBATCH_PERFTABLE, else the user's data folder.</summary>
    [Parameter]
    [Alias("TablePath")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == RemoveSet)
        {
            RemoveRows();
            return;
        }

        var bound = MyInvocation.BoundParameters;
        if (!MyInvocation.ExpectingInput && !bound.ContainsKey(nameof(ModelHash)) && !bound.ContainsKey(nameof(Status)))
        {
            // A direct edit applies only the parameters given: an omitted -IoMs keeps the row's.
            _singleEdit = new PerfEntryEdit
            {
                Model = Model, Unit = Unit, BatchSize = BatchSize, ExecMs = ExecMs,
                IoMs = bound.ContainsKey(nameof(IoMs)) ? IoMs : null,
                MachineName = string.IsNullOrEmpty(MachineName) ? Environment.MachineName : MachineName,
                Backend = Backend, BackendOptions = BackendOptions, DeviceName = DeviceName, Timestamp = Timestamp,
                OpenMs = OpenMs, WarmUpMs = WarmUpMs,
            };
            return;
        }

        _incoming.Add(new PerfEntry
        {
            Model = Model, Unit = Unit, BatchSize = BatchSize, ExecMs = ExecMs, IoMs = IoMs,
            HostToDeviceMs = HostToDeviceMs, DeviceToHostMs = DeviceToHostMs,
            ModelHash = ModelHash ?? "", MachineName = string.IsNullOrEmpty(MachineName) ? Environment.MachineName : MachineName,
            DeviceName = DeviceName ?? "", Backend = Backend ?? "", BackendOptions = BackendOptions ?? "",
            Repeats = Repeats, SpreadMs = SpreadMs, Status = NormaliseStatus(Status), Timestamp = Timestamp ?? DateTimeOffset.UtcNow,
            OpenMs = OpenMs, WarmUpMs = WarmUpMs,
        });
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == RemoveSet) return;
        var store = PerfTableCmdletSupport.OpenStore(this, Path);
        if (_singleEdit is { } edit)
        {
            if (!ShouldProcess(store.Path, $"Set {edit.Model} on {edit.Unit} at batch {edit.BatchSize} to {edit.ExecMs} ms")) return;
            var result = RunEngine((_, ct) => store.SetEntry(edit, HistoryLimit, ct), edit.Unit);
            if (PassThru) WriteObject(result.Entries, enumerateCollection: true);
            return;
        }
        if (_incoming.Count == 0) return;
        if (!ShouldProcess(store.Path, $"Merge {_incoming.Count} row(s)")) return;
        var merged = RunEngine((_, ct) => store.Merge(_incoming, HistoryLimit, ct), store.Path);
        WriteVerbose($"{store.Path}: {merged.Added} added, {merged.Replaced} replaced, {merged.Unchanged} unchanged.");
        if (merged.Older.Count > 0)
        {
            var shown = string.Join("; ", merged.Older.Take(5).Select(e =>
                $"{e.Model} on {e.Unit} of {e.MachineName} at batch {e.BatchSize} ({e.ExecMs} ms, {e.Timestamp:o})"));
            WriteWarning($"{merged.Older.Count} row(s) were not applied: the table holds a newer measurement of the same key with other numbers: " +
                $"{shown}{(merged.Older.Count > 5 ? "; ..." : "")}. To apply them anyway, give them a newer -Timestamp (or leave the Timestamp column out: rows without one are stamped now).");
        }
        if (PassThru) WriteObject(merged.Entries, enumerateCollection: true);
    }

    private void RemoveRows()
    {
        var bound = MyInvocation.BoundParameters;
        if (!bound.ContainsKey(nameof(Model)) && !bound.ContainsKey(nameof(Unit)))
        {
            ThrowTerminatingError(ErrorMapping.Create(CmdletErrorIds.RemoveNeedsFilter, HeteroBatch.Engine.Errors.ErrorKind.InvalidArgument,
                "Set-PerfTable -Remove needs -Model and/or -Unit, so a whole table is never removed by accident.", null));
        }
        var filter = new PerfFilter
        {
            Model = bound.ContainsKey(nameof(Model)) ? Model : null,
            Unit = bound.ContainsKey(nameof(Unit)) ? Unit : null,
            MachineName = bound.ContainsKey(nameof(MachineName)) ? MachineName : null,
            BatchSize = bound.ContainsKey(nameof(BatchSize)) ? BatchSize : null,
        };
        var store = PerfTableCmdletSupport.OpenStore(this, Path);
        var what = string.Join(", ", new[] { filter.Model is null ? null : "model " + filter.Model, filter.Unit is null ? null : "unit " + filter.Unit,
            filter.MachineName is null ? null : "machine " + filter.MachineName, filter.BatchSize is null ? null : "batch " + filter.BatchSize }.Where(s => s is not null));
        if (!ShouldProcess(store.Path, $"Remove rows of {what}")) return;
        var removed = RunEngine((_, ct) => store.Remove(filter, ct), store.Path);
        WriteVerbose($"{store.Path}: {removed.Count} row(s) removed.");
        if (PassThru) WriteObject(removed, enumerateCollection: true);
    }

    private static string NormaliseStatus(string? status) =>
        status is null ? PerfStatus.Ok
        : PerfEntryValidation.KnownStatuses.FirstOrDefault(s => s.Equals(status, StringComparison.OrdinalIgnoreCase)) ?? status;
}
