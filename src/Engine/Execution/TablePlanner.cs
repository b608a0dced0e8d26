using System.Security.Cryptography;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Split-Batch's engine: which model (by name or content hash, fp16 as a model of its own), which machines and units
/// (named, piped with their machine, or by default), then <see cref="BatchPlanner"/> for one machine or
/// <see cref="MachinePlanner"/> across machines — from the table's rows alone, nothing is run.
/// </summary>
public static class TablePlanner
{
    /// <summary>Plans <paramref name="request"/> from <paramref name="rows"/>. Throws ModelNotFound (a model that neither
    /// exists nor has rows), MissingProfile, NoUnits, InvalidBatchSize, UnknownMachine...</summary>
    public static BatchPlan Plan(IReadOnlyList<PerfEntry> rows, TablePlanRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(request);
        CheckModelExists(request.Model, rows);
        var (name, hash) = request.Precision == ModelPrecision.Half ? HalfIdentity(request.Model, cancellationToken) : ModelIdentity(request.Model);
        var piped = request.UnitsOnMachines;
        var pipedMachines = piped.Select(p => p.Machine).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var ids = request.Units.Select(UnitAddress.Parse).ToList();
        var machines = request.Machines.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (ids.Any(a => a.HasMachine) || machines.Count > 1 || pipedMachines.Count > 1)
        {
            ids.AddRange(piped.Select(p => new UnitAddress(p.Machine, p.Unit)));
            return MachinePlanner.Plan(rows, name, hash, AcrossMachines(rows, name, hash, ids, machines), request.BatchSize, request.Algorithm,
                request.BackendOptions, cancellationToken);
        }

        // One machine: the units given or piped, on the machine given or piped (default this one).
        var machine = machines.FirstOrDefault() ?? pipedMachines.FirstOrDefault();
        var unitIds = request.Units.Concat(piped.Select(p => p.Unit)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        IReadOnlyList<string> units = unitIds.Length > 0 ? unitIds : DefaultUnits(rows, name, hash, ref machine);
        machine ??= Environment.MachineName;
        return BatchPlanner.Plan(rows, new PlanRequest
        {
            Model = name, ModelHash = hash, BatchSize = request.BatchSize, Units = units, MachineName = machine,
            BackendOptions = request.BackendOptions, Algorithm = request.Algorithm,
        }, cancellationToken);
    }

    /// <summary>A zoo name plans by name (no need to generate the network); a file plans by its content hash.</summary>
    public static (string Name, string Hash) ModelIdentity(string model)
    {
        if (ModelZoo.TryGetCanonicalName(model, out var canonical)) return (canonical, "");
        if (File.Exists(model))
        {
            using var stream = File.OpenRead(model);
            return (Path.GetFileNameWithoutExtension(model), Convert.ToHexStringLower(SHA256.HashData(stream)));
        }
        return (model, "");
    }

    /// <summary>
    /// A file that does not exist, or a bare name that is neither a zoo name nor a model of the table, is ModelNotFound
    /// (not MissingProfile: profiling cannot help).
    /// </summary>
    private static void CheckModelExists(string model, IReadOnlyList<PerfEntry> rows)
    {
        if (ModelZoo.TryGetCanonicalName(model, out _) || File.Exists(model)) return;
        bool isPath = Path.IsPathRooted(model);
        if (!isPath && rows.Any(r => string.Equals(r.Model, model, StringComparison.OrdinalIgnoreCase))) return;
        ModelResolver.Resolve(model); // throws ModelNotFound, naming the file or listing the zoo
    }

    /// <summary>The fp16 conversion is a model of its own: plan by its name and hash.</summary>
    private static (string Name, string Hash) HalfIdentity(string model, CancellationToken cancellationToken)
    {
        var half = HalfPrecision.ToHalf(ModelResolver.Resolve(model), cancellationToken: cancellationToken);
        return (half.Name, half.Hash);
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

    /// <summary>A machine's units in the table for the model; without a machine, this machine's available units.</summary>
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
