using System.Management.Automation;
using HeteroBatch.Engine.Execution;
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
    private readonly List<(string Machine, string Unit)> _piped = new();
    private string[]? _machinesGiven;

    /// <summary>Model as named in the table: a zoo name, or an ONNX path (then its content hash selects the rows).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>Number of items in the batch (N ≥ 1).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public int BatchSize { get; set; }

    /// <summary>Units to split over, as named in the table (or ComputeUnit objects from the pipeline), node1/gpu0 for a unit of machine node1 (plans across machines); default: this machine's available units, or every unit of -MachineName in the table.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Unit { get; set; }

    /// <summary>Plan with the rows of this machine (for a table imported from another host); several machines plan across them; default: this machine when -Unit names local units.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? MachineName { get; set; }

    /// <summary>Optimal (default, exact minimum of the predicted makespan), Seed (the seed paper's search and estimate, ported faithfully), GreedyImproved (a greedy search after the seed's, with changed rules, on the planner's curves), Proportional or Even.</summary>
    [Parameter]
    public PlanAlgorithm Algorithm { get; set; } = PlanAlgorithm.Optimal;

    /// <summary>Single (fp32, default) or Half: plan the model's fp16 conversion, whose rows are its own ("name-fp16").</summary>
    [Parameter]
    public ModelPrecision Precision { get; set; } = ModelPrecision.Single;

    /// <summary>Use only rows measured with this backend options key (e.g. threads=4) when a unit has several.</summary>
    [Parameter]
    public string? BackendOptions { get; set; }

    /// <summary>The table file; default: $env:HETEROBATCH_PERFTABLE, else the user's data folder.</summary>
    [Parameter]
    [Alias("TablePath")]
    public string? Path { get; set; }

    private string _modelGiven = "";
    private int _batchSizeGiven;
    private bool _plannedRecords;

    protected override void BeginProcessing()
    {
        // What the command line gave (piped records bind theirs one record at a time, in ProcessRecord).
        _machinesGiven = MachineName;
        _modelGiven = Model;
        _batchSizeGiven = BatchSize;
    }

    protected override void ProcessRecord()
    {
        if (MyInvocation.ExpectingInput && (Model != _modelGiven || BatchSize != _batchSizeGiven))
        {
            // A record that brings its own job (Import-Csv jobs.csv | Split-Batch): one plan per record, with its units.
            // A job that fails (a row naming an unprofiled unit) is that record's error; the other rows are still planned.
            _plannedRecords = true;
            WritePlan(Unit ?? Array.Empty<string>(), MachineName ?? Array.Empty<string>(), Array.Empty<(string, string)>(), oneOfSeveral: true);
            return;
        }
        if (MyInvocation.ExpectingInput && MachineName is { Length: 1 } piped && !ReferenceEquals(MachineName, _machinesGiven))
        {
            // A record from the pipeline with its machine (Get-ComputeUnit -Session): keep which machine each unit is on.
            foreach (var u in Unit ?? Array.Empty<string>()) _piped.Add((piped[0], u));
            return;
        }
        if (Unit is not null) _units.AddRange(Unit);
    }

    protected override void EndProcessing()
    {
        // Units piped for one model (Get-ComputeUnit | Split-Batch -Model m -BatchSize n) make one job, planned here.
        if (_plannedRecords && _units.Count == 0 && _piped.Count == 0) return;
        WritePlan(_units, _machinesGiven ?? Array.Empty<string>(), _piped);
    }

    private void WritePlan(IReadOnlyList<string> units, IReadOnlyList<string> machines, IReadOnlyList<(string Machine, string Unit)> piped,
        bool oneOfSeveral = false)
    {
        var store = PerfTableCmdletSupport.OpenStore(this, Path);
        var request = new TablePlanRequest
        {
            Model = ModelArgument.Resolve(this, Model), Precision = Precision, BatchSize = BatchSize, Units = units.ToArray(),
            Machines = machines.ToArray(), UnitsOnMachines = piped.ToArray(), BackendOptions = BackendOptions, Algorithm = Algorithm,
        };
        BatchPlan Plan(CancellationToken ct)
        {
            var rows = store.Read().Entries;
            try
            {
                return TablePlanner.Plan(rows, request, ct);
            }
            catch (MissingProfileException missing) when (missing.MachineName is null || UnitAddress.IsThisMachine(missing.MachineName))
            {
                throw ExplainMissing(missing, rows);
            }
        }
        if (!oneOfSeveral) WriteObject(RunEngine((_, ct) => Plan(ct), Model));
        else if (TryRunEngine((_, ct) => Plan(ct), Model, out var plan)) WriteObject(plan);
    }

    /// <summary>
    /// Missing rows of this machine: a unit that does not exist here (and has no rows) is UnitNotFound; otherwise the
    /// error's command is the one to paste: the model as given (an ONNX path, not its stem), -Save, and -Path when given.
    /// </summary>
    private Exception ExplainMissing(MissingProfileException missing, IReadOnlyList<PerfEntry> rows)
    {
        foreach (var unit in missing.MissingUnits)
        {
            bool known = rows.Any(r => string.Equals(r.Unit, unit, StringComparison.OrdinalIgnoreCase) && UnitAddress.IsThisMachine(r.MachineName));
            if (known) continue;
            var id = ThreadBudget.TryParseSlice(unit, out var baseId, out _) ? baseId : unit;
            ComputeUnitDiscovery.Find(id); // throws UnitNotFound, listing this machine's units
        }
        // -BackendOptions threads=4 plans from rows measured with 4 threads: the command measures those.
        int threads = 0;
        if (!string.IsNullOrEmpty(BackendOptions) && HeteroBatch.Engine.Table.BackendOptions.Parse(BackendOptions) is { Settings.Count: 0 } parsed)
            threads = parsed.IntraOpThreads;
        var command = MissingProfileException.ProfileCommand(Model, missing.MissingUnits, Path, Precision == ModelPrecision.Half, threads);
        return new MissingProfileException(missing.Model, missing.MissingUnits, missing.MachineName, command);
    }
}
