using System.Management.Automation;
using System.Security.Cryptography;
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

    protected override void BeginProcessing()
    {
        // Machines named on the command line (piped records bind theirs one record at a time, in ProcessRecord).
        _machinesGiven = MachineName;
    }

    protected override void ProcessRecord()
    {
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
        var store = PerfTableCmdletSupport.OpenStore(this, Path);
        var modelArgument = ModelArgument.Resolve(this, Model);
        var plan = RunEngine((_, ct) =>
        {
            var rows = store.Read().Entries;
            CheckModelExists(modelArgument, rows);
            try
            {
                return Plan(rows, modelArgument, ct);
            }
            catch (MissingProfileException missing) when (missing.MachineName is null || UnitAddress.IsThisMachine(missing.MachineName))
            {
                throw ExplainMissing(missing, rows);
            }
        }, Model);
        WriteObject(plan);
    }

    /// <summary>
    /// A file that does not exist, or a bare name that is neither a zoo name nor a model of the table, is ModelNotFound
    /// (not MissingProfile: profiling cannot help).
    /// </summary>
    private static void CheckModelExists(string modelArgument, IReadOnlyList<PerfEntry> rows)
    {
        if (ModelZoo.TryGetCanonicalName(modelArgument, out _) || File.Exists(modelArgument)) return;
        bool isPath = System.IO.Path.IsPathRooted(modelArgument);
        if (!isPath && rows.Any(r => string.Equals(r.Model, modelArgument, StringComparison.OrdinalIgnoreCase))) return;
        ModelResolver.Resolve(modelArgument); // throws ModelNotFound, naming the file or listing the zoo
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
        if (!string.IsNullOrEmpty(BackendOptions) && HeteroBatch.Engine.Backends.BackendOptions.Parse(BackendOptions) is { Settings.Count: 0 } parsed)
            threads = parsed.IntraOpThreads;
        var command = MissingProfileException.ProfileCommand(Model, missing.MissingUnits, Path, Precision == ModelPrecision.Half, threads);
        return new MissingProfileException(missing.Model, missing.MissingUnits, missing.MachineName, command);
    }

    private BatchPlan Plan(IReadOnlyList<PerfEntry> rows, string modelArgument, CancellationToken ct)
    {
        var (name, hash) = Precision == ModelPrecision.Half ? HalfIdentity(modelArgument, ct) : ModelIdentity(modelArgument);
        var pipedMachines = _piped.Select(p => p.Machine).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var ids = _units.Select(UnitAddress.Parse).ToList();
        var machines = (_machinesGiven ?? Array.Empty<string>()).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (ids.Any(a => a.HasMachine) || machines.Count > 1 || pipedMachines.Count > 1)
        {
            ids.AddRange(_piped.Select(p => new UnitAddress(p.Machine, p.Unit)));
            return MachinePlanner.Plan(rows, name, hash, AcrossMachines(rows, name, hash, ids, machines), BatchSize, Algorithm, BackendOptions, ct);
        }

        // One machine: the units given or piped, on the machine given or piped (default this one).
        var machine = machines.FirstOrDefault() ?? pipedMachines.FirstOrDefault();
        var unitIds = _units.Concat(_piped.Select(p => p.Unit)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        IReadOnlyList<string> units = unitIds.Length > 0 ? unitIds : DefaultUnits(rows, name, hash, ref machine);
        machine ??= Environment.MachineName;
        return BatchPlanner.Plan(rows, new PlanRequest
        {
            Model = name, ModelHash = hash, BatchSize = BatchSize, Units = units, MachineName = machine,
            BackendOptions = BackendOptions, Algorithm = Algorithm,
        }, ct);
    }

    /// <summary>
    /// The machines and units of a plan across machines: node1/cpu names one machine's unit; a plain id is that unit on
    /// every machine named; a machine named (by -MachineName or an id) without units of its own takes all of its units
    /// in the table for the model. Names are matched to the table's spelling; localhost means this machine.
    /// </summary>
    private static List<MachineUnits> AcrossMachines(IReadOnlyList<PerfEntry> rows, string model, string hash, List<UnitAddress> ids, List<string> machinesGiven)
    {
        string Canonical(string machine)
        {
            if (UnitAddress.IsThisMachine(machine)) machine = Environment.MachineName;
            return rows.Select(r => r.MachineName).FirstOrDefault(m => string.Equals(m, machine, StringComparison.OrdinalIgnoreCase)) ?? machine;
        }

        var order = new List<string>();
        foreach (var m in machinesGiven.Concat(ids.Where(a => a.HasMachine).Select(a => a.MachineName!)).Select(Canonical))
            if (!order.Contains(m, StringComparer.OrdinalIgnoreCase)) order.Add(m);
        var plain = ids.Where(a => !a.HasMachine).Select(a => a.Unit).ToList();
        var result = new List<MachineUnits>();
        foreach (var machine in order)
        {
            var units = ids.Where(a => a.HasMachine && string.Equals(Canonical(a.MachineName!), machine, StringComparison.OrdinalIgnoreCase))
                .Select(a => a.Unit).Concat(plain).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (units.Count == 0)
            {
                string? m = machine;
                units = DefaultUnits(rows, model, hash, ref m).ToList();
            }
            result.Add(new MachineUnits { MachineName = machine, Units = units });
        }
        return result;
    }

    /// <summary>The fp16 conversion is a model of its own: plan by its name and hash.</summary>
    private static (string Name, string Hash) HalfIdentity(string modelArgument, CancellationToken ct)
    {
        var half = HalfPrecision.ToHalf(ModelResolver.Resolve(modelArgument), cancellationToken: ct);
        return (half.Name, half.Hash);
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
