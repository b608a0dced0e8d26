using System.Management.Automation;
using System.Security.Cryptography;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Plans how many items of a batch each unit runs, and how (chunks, padding), from the performance table
/// alone; plans for other machines' units work the same way.
/// </summary>
[Cmdlet(VerbsCommon.Split, "Batch", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(BatchPlan))]
public sealed class SplitBatchCommand : HeteroBatchCmdlet
{
    private const string DefaultSet = "Default";

    private readonly List<string> _units = new();
    private string? _pipedMachine;

    /// <summary>Model as named in the table: a zoo name, or an ONNX path (then its content hash selects the rows).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>Number of items in the batch (N ≥ 1).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public int BatchSize { get; set; }

    /// <summary>Units to split over, as named in the table (or ComputeUnit objects from the pipeline); default: this machine's available units, or every unit of -MachineName in the table.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Unit { get; set; }

    /// <summary>Plan with the rows of this machine (for a table imported from another host); default: this machine when -Unit names local units.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? MachineName { get; set; }

    /// <summary>Optimal (default, exact minimum of the predicted makespan), Greedy (the seed paper's search), Proportional or Even.</summary>
    [Parameter]
    public PlanAlgorithm Algorithm { get; set; } = PlanAlgorithm.Optimal;

    /// <summary>Use only rows measured with this backend options key (e.g. threads=4) when a unit has several.</summary>
    [Parameter]
    public string? BackendOptions { get; set; }

    /// <summary>The table file; default: $env:HETEROBATCH_PERFTABLE, else the user's data folder.</summary>
    [Parameter]
    [Alias("TablePath")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        if (Unit is not null) _units.AddRange(Unit);
        if (MyInvocation.ExpectingInput && MachineName is not null) _pipedMachine ??= MachineName;
    }

    protected override void EndProcessing()
    {
        var store = PerfTableCmdletSupport.OpenStore(this, Path);
        var modelArgument = ModelArgument.Resolve(this, Model);
        var plan = RunEngine((_, ct) =>
        {
            var rows = store.Read().Entries;
            var (name, hash) = ModelIdentity(modelArgument);
            var machine = MachineName ?? _pipedMachine;
            IReadOnlyList<string> units = _units.Count > 0
                ? _units.Distinct(StringComparer.OrdinalIgnoreCase).ToArray()
                : DefaultUnits(rows, name, hash, ref machine);
            machine ??= Environment.MachineName;
            return BatchPlanner.Plan(rows, new PlanRequest
            {
                Model = name, ModelHash = hash, BatchSize = BatchSize, Units = units, MachineName = machine,
                BackendOptions = BackendOptions, Algorithm = Algorithm,
            }, ct);
        }, Model);
        WriteObject(plan);
    }

    /// <summary>A zoo name plans by name (no need to generate the network); a file plans by its content hash.</summary>
    internal static (string Name, string Hash) ModelIdentity(string modelArgument)
    {
        if (ModelZoo.TryGetCanonicalName(modelArgument, out var canonical)) return (canonical, "");
        if (File.Exists(modelArgument))
        {
            using var stream = File.OpenRead(modelArgument);
            return (System.IO.Path.GetFileNameWithoutExtension(modelArgument), Convert.ToHexStringLower(SHA256.HashData(stream)));
        }
        return (modelArgument, "");
    }

    private static IReadOnlyList<string> DefaultUnits(IReadOnlyList<PerfEntry> rows, string model, string hash, ref string? machine)
    {
        if (machine is not null)
        {
            var m = machine;
            return rows.Where(r => string.Equals(r.MachineName, m, StringComparison.OrdinalIgnoreCase)
                                   && (hash.Length > 0 ? r.ModelHash == hash || (r.ModelHash.Length == 0 && r.Model == model) : string.Equals(r.Model, model, StringComparison.OrdinalIgnoreCase)))
                .Select(r => r.Unit).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        }
        machine = Environment.MachineName;
        return ComputeUnitDiscovery.Discover().Where(u => u.Available).Select(u => u.Id).ToArray();
    }
}
