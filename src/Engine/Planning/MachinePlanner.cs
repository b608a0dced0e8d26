using System.Diagnostics;
using System.Globalization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Planning;

/// <summary>The units of one machine to plan a batch on.</summary>
public sealed record MachineUnits
{
    /// <summary>The machine's name, as in the table's MachineName column.</summary>
    public required string MachineName { get; init; }
    /// <summary>Unit ids on the machine (<c>cpu</c>, <c>gpu0</c>), in the order their shares should follow.</summary>
    public required IReadOnlyList<string> Units { get; init; }
    /// <summary>Backend options key per unit id (the options the machine will run each unit with); a unit not
    /// listed accepts rows of any options (they must then be unambiguous).</summary>
    public IReadOnlyDictionary<string, string>? UnitOptions { get; init; }
    /// <summary>Fixed cost of using the machine (a remote call's round trip), milliseconds; added to its predicted time.</summary>
    public double DelayMs { get; init; }
}

/// <summary>
/// One machine seen as one worker: the cost curves of its units (<see cref="Local"/>) and their
/// <see cref="AggregateCostCurve"/>, whose cost for n items is the makespan of the machine's best local plan.
/// </summary>
public sealed class MachineCostModel
{
    public MachineCostModel(string machineName, CostModel local, double delayMs = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineName);
        ArgumentNullException.ThrowIfNull(local);
        if (!(delayMs >= 0) || double.IsInfinity(delayMs)) throw new ArgumentOutOfRangeException(nameof(delayMs), delayMs, "The delay must be a finite number of milliseconds ≥ 0.");
        MachineName = machineName;
        Local = local;
        DelayMs = delayMs;
        Aggregate = new AggregateCostCurve(machineName, local.Units);
        Curve = CostCurves.Delayed(Aggregate, delayMs);
    }

    public string MachineName { get; }
    /// <summary>The machine's units, with their local ids.</summary>
    public CostModel Local { get; }
    /// <summary>Fixed cost of using the machine, milliseconds.</summary>
    public double DelayMs { get; }
    /// <summary>The machine as one worker (no delay).</summary>
    public AggregateCostCurve Aggregate { get; }
    /// <summary><see cref="Aggregate"/> with <see cref="DelayMs"/> added: what the split across machines uses.</summary>
    public ICostCurve Curve { get; }
    /// <summary>True when at least one of its units can run the model.</summary>
    public bool IsUsable => Local.Units.Any(u => u.IsUsable);
}

/// <summary>
/// Plans a batch across machines, in two levels. Each machine's throughput curve is its
/// <see cref="AggregateCostCurve"/> (from its own units' table rows: the makespan of its best local plan for each
/// share size, plus a fixed delay per machine); the batch is split across machines by the same algorithm as across
/// units (for Optimal, <see cref="SplitSolver"/>, so the predicted makespan equals a flat plan over all units when
/// delays are 0), then each machine's slice is split across its units. The result is a <see cref="BatchPlan"/> whose
/// <see cref="BatchPlan.MachineShares"/> lists the machines' slices and whose <see cref="BatchPlan.Shares"/> lists
/// every unit as <c>machine/unit</c>; <see cref="LocalPlan"/> cuts out one machine's plan to send it there.
/// </summary>
public static class MachinePlanner
{
    /// <summary>
    /// Builds each machine's cost model from table rows. Errors: NoUnits, UnknownMachine (no row of the table is
    /// of that machine), MissingProfile (names the machine), AmbiguousProfile, InvalidProfile, InvalidModel.
    /// </summary>
    /// <param name="table">Rows of every machine (one shared table).</param>
    /// <param name="model">Model name; see <see cref="CostModel.FromTable"/>.</param>
    /// <param name="modelHash">Model content hash, when known.</param>
    /// <param name="machines">Machines and their units, in the order their slices should follow.</param>
    /// <param name="backendOptions">Rows of units without a <see cref="MachineUnits.UnitOptions"/> entry must have this options key; null accepts any.</param>
    public static IReadOnlyList<MachineCostModel> CostModels(IEnumerable<PerfEntry> table, string model, string? modelHash,
        IEnumerable<MachineUnits> machines, string? backendOptions = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        var list = (machines ?? throw new ArgumentNullException(nameof(machines))).ToList();
        if (list.Count == 0) throw NoMachines();
        var duplicate = list.GroupBy(m => m.MachineName, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new HeteroBatchException(PlanningErrorIds.DuplicateMachine, ErrorKind.InvalidArgument,
                $"Machine '{duplicate.Key}' is given twice; list each machine once, with all of its units.", duplicate.Key);

        var rows = table as IReadOnlyCollection<PerfEntry> ?? table.ToList();
        var known = rows.Select(r => r.MachineName ?? "").Where(n => n.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var machine in list)
        {
            if (!known.Contains(machine.MachineName, StringComparer.OrdinalIgnoreCase))
                throw new HeteroBatchException(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
                    $"The performance table has no rows of machine '{machine.MachineName}'. Machines in the table: " +
                    $"{(known.Count == 0 ? "(none)" : string.Join(", ", known.Order(StringComparer.OrdinalIgnoreCase)))}. " +
                    $"Profile it there and merge the rows: Invoke-Command -Session $s {{ Measure-BatchProfile -Model {model} }} | Set-PerfTable.",
                    machine.MachineName);
        }
        if (list.All(m => m.Units.Count == 0))
            throw new HeteroBatchException(PlanningErrorIds.NoUnits, ErrorKind.InvalidArgument,
                $"The table has no rows of model '{model}' on machines {string.Join(", ", list.Select(m => m.MachineName))}, and no unit was named. " +
                "Name units as 'machine/unit' (e.g. node1/gpu0), or profile the model on those machines.");
        var result = new List<MachineCostModel>();
        foreach (var machine in list.Where(m => m.Units.Count > 0))
        {
            IEnumerable<PerfEntry> machineRows = rows.Where(r => string.Equals(r.MachineName, machine.MachineName, StringComparison.OrdinalIgnoreCase));
            if (machine.UnitOptions is { Count: > 0 } options)
            {
                machineRows = machineRows.Where(r =>
                {
                    var key = options.FirstOrDefault(kv => string.Equals(kv.Key, r.Unit, StringComparison.OrdinalIgnoreCase)).Value;
                    return key is null ? backendOptions is null || r.BackendOptions == backendOptions : OptionsKey(r.BackendOptions) == key;
                });
                var local = CostModel.FromTable(machineRows, model, modelHash, machine.Units, machine.MachineName, null);
                result.Add(new MachineCostModel(machine.MachineName, local, machine.DelayMs));
            }
            else
            {
                var local = CostModel.FromTable(machineRows, model, modelHash, machine.Units, machine.MachineName, backendOptions);
                result.Add(new MachineCostModel(machine.MachineName, local, machine.DelayMs));
            }
        }
        return result;
    }

    /// <summary>Plans <paramref name="batchSize"/> items across <paramref name="machines"/> from table rows (see <see cref="CostModels"/>).</summary>
    public static BatchPlan Plan(IEnumerable<PerfEntry> table, string model, string? modelHash, IReadOnlyList<MachineUnits> machines,
        int batchSize, PlanAlgorithm algorithm = PlanAlgorithm.Optimal, string? backendOptions = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        CheckCount(batchSize, "batch size");
        var models = CostModels(table, model, modelHash, machines, backendOptions);
        return Build(models, models.Select(m => m.Curve).ToArray(), 0, batchSize, algorithm, BaselineSplits.DefaultGreedyMaxRounds, clock, cancellationToken);
    }

    /// <summary>Plans <paramref name="batchSize"/> items across machines whose cost models are already built.</summary>
    public static BatchPlan Plan(IReadOnlyList<MachineCostModel> machines, int batchSize, PlanAlgorithm algorithm = PlanAlgorithm.Optimal,
        int greedyMaxRounds = BaselineSplits.DefaultGreedyMaxRounds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(machines);
        var clock = Stopwatch.StartNew();
        CheckCount(batchSize, "batch size");
        if (machines.Count == 0) throw NoMachines();
        return Build(machines, machines.Select(m => m.Curve).ToArray(), 0, batchSize, algorithm, greedyMaxRounds, clock, cancellationToken);
    }

    /// <summary>
    /// Re-plans items [<paramref name="firstItem"/>, firstItem + <paramref name="count"/>) across the machines named
    /// (e.g. all but one that dropped out). A machine's predicted time is its delay + its busy time + its aggregate
    /// cost. The plan has <c>FirstItem = firstItem</c> and offsets that are positions in the whole batch.
    /// </summary>
    public static BatchPlan Replan(IReadOnlyList<MachineCostModel> machines, int firstItem, int count, IEnumerable<string> machineNames,
        IReadOnlyDictionary<string, double>? busyMs = null, PlanAlgorithm algorithm = PlanAlgorithm.Optimal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(machines);
        var clock = Stopwatch.StartNew();
        CheckCount(count, "number of items to re-plan");
        if (firstItem < 0)
            throw new HeteroBatchException(PlanningErrorIds.InvalidItemRange, ErrorKind.InvalidArgument,
                $"The first item to re-plan is {firstItem}; it must be ≥ 0.", firstItem);
        var names = (machineNames ?? Array.Empty<string>()).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var selected = machines.Where(m => names.Contains(m.MachineName, StringComparer.OrdinalIgnoreCase)).ToList();
        if (selected.Count == 0) throw NoMachines();
        var curves = selected.Select(m =>
        {
            double busy = busyMs?.FirstOrDefault(kv => string.Equals(kv.Key, m.MachineName, StringComparison.OrdinalIgnoreCase)).Value ?? 0;
            return double.IsFinite(busy) && busy > 0 ? CostCurves.Delayed(m.Curve, busy) : m.Curve;
        }).ToArray();
        return Build(selected, curves, firstItem, count, algorithm, BaselineSplits.DefaultGreedyMaxRounds, clock, cancellationToken);
    }

    /// <summary>
    /// The part of a plan across machines that <paramref name="machineName"/> runs, as a plan of its own: its units'
    /// shares with their local ids (<c>gpu0</c>), offsets counted from the machine's first item (so the plan covers
    /// [0, its items)), no machine name, and its predicted time. Throws <c>UnknownMachine</c> when the plan has no slice for it.
    /// </summary>
    public static BatchPlan LocalPlan(BatchPlan plan, string machineName)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var slice = plan.MachineShares.FirstOrDefault(m => string.Equals(m.MachineName, machineName, StringComparison.OrdinalIgnoreCase))
            ?? throw new HeteroBatchException(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
                $"The plan has no slice for machine '{machineName}'; its machines are {string.Join(", ", plan.MachineShares.Select(m => m.MachineName))}.", machineName);
        var shares = plan.Shares
            .Where(s => string.Equals(s.MachineName, slice.MachineName, StringComparison.OrdinalIgnoreCase))
            // The machine runs it under its own name, whatever the coordinator calls it: no MachineName to check.
            .Select(s => s with { Unit = UnitAddress.Parse(s.Unit).Unit, MachineName = "", Offset = s.Items > 0 ? s.Offset - slice.Offset : 0 })
            .ToArray();
        var best = shares.Where(s => s.Items > 0).OrderByDescending(s => s.PredictedMs).FirstOrDefault();
        return new BatchPlan
        {
            Model = plan.Model,
            ModelHash = plan.ModelHash,
            BatchSize = slice.Items,
            FirstItem = 0,
            Algorithm = plan.Algorithm,
            PredictedMs = shares.Length == 0 ? 0 : shares.Max(s => s.PredictedMs),
            BestSingleUnit = best?.Unit ?? "",
            BestSingleUnitMs = double.NaN,
            Shares = shares,
            PlanningMs = 0,
        };
    }

    private static BatchPlan Build(IReadOnlyList<MachineCostModel> machines, ICostCurve[] curves, int firstItem, int items,
        PlanAlgorithm algorithm, int greedyMaxRounds, Stopwatch clock, CancellationToken cancellationToken)
    {
        if (!machines.Any(m => m.IsUsable))
            throw new HeteroBatchException(PlanningErrorIds.NoUsableUnit, ErrorKind.ResourceUnavailable,
                "None of the machines' units can run the model: " +
                string.Join("; ", machines.SelectMany(m => m.Local.Units.Select(u => $"{UnitAddress.Qualify(m.MachineName, u.Unit)}: {u.UnusableReason}"))) +
                ". Plan with other units.", machines.Select(m => m.MachineName).ToArray());

        // A machine has no exec/I-O table of its own: its aggregate curve is its seed estimate.
        var (split, makespan, _) = SplitAlgorithms.Split(curves, items, algorithm, greedyMaxRounds, null, cancellationToken);

        var machineShares = new List<MachineShare>();
        var unitShares = new List<UnitShare>();
        int offset = firstItem;
        double predicted = 0;
        for (int m = 0; m < machines.Count; m++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var machine = machines[m];
            int n = split[m];
            var unitNames = machine.Local.Units.Select(u => UnitAddress.Qualify(machine.MachineName, u.Unit)).ToArray();
            if (n > 0)
            {
                var local = BatchPlanner.Replan(machine.Local, offset, n, machine.Local.Units.Select(u => u.Unit), null, algorithm, cancellationToken);
                unitShares.AddRange(local.Shares.Select(s => s with { Unit = UnitAddress.Qualify(machine.MachineName, s.Unit), MachineName = machine.MachineName }));
                double ms = curves[m].Cost(n);
                predicted = Math.Max(predicted, ms);
                machineShares.Add(new MachineShare
                {
                    MachineName = machine.MachineName, Items = n, Offset = offset, PredictedMs = ms,
                    DelayMs = curves[m].Cost(n) - machine.Aggregate.Cost(n), Units = unitNames,
                });
            }
            else
            {
                string reason = !machine.IsUsable ? "none of its units can run the model"
                    : algorithm == PlanAlgorithm.Optimal
                        ? curves[m].Cost(1) > makespan
                            ? $"slower than the makespan: one item takes {Ms(curves[m].Cost(1))} ms there, the other machines finish all items in {Ms(makespan)} ms"
                            : "not needed: the other machines finish all items within the makespan"
                        : $"the {algorithm} split gives it no items";
                machineShares.Add(new MachineShare { MachineName = machine.MachineName, Items = 0, Offset = offset, Units = unitNames, Reason = reason });
                unitShares.AddRange(machine.Local.Units.Select(u => new UnitShare
                {
                    Unit = UnitAddress.Qualify(machine.MachineName, u.Unit), MachineName = machine.MachineName, Items = 0, Offset = offset,
                    Reason = u.IsUsable ? $"its machine gets no items ({reason})" : u.UnusableReason,
                }));
            }
            offset += n;
        }

        string bestUnit = "";
        double bestMs = double.PositiveInfinity;
        // The best single unit pays its machine's fixed cost too, so the speedup compares like with like.
        foreach (var machine in machines)
            foreach (var unit in machine.Local.Units)
            {
                double c = unit.Cost(items) + machine.DelayMs;
                if (c < bestMs) { bestMs = c; bestUnit = UnitAddress.Qualify(machine.MachineName, unit.Unit); }
            }

        var first = machines.First();
        return new BatchPlan
        {
            Model = first.Local.Model,
            ModelHash = machines.Select(m => m.Local.ModelHash).FirstOrDefault(h => !string.IsNullOrEmpty(h)) ?? "",
            BatchSize = items,
            FirstItem = firstItem,
            Algorithm = algorithm,
            PredictedMs = predicted,
            BestSingleUnit = bestUnit,
            BestSingleUnitMs = bestMs,
            Shares = unitShares.ToArray(),
            MachineShares = machineShares.ToArray(),
            PlanningMs = clock.Elapsed.TotalMilliseconds,
        };
    }

    /// <summary>The canonical options key of a row (rows written by hand may order settings differently).</summary>
    private static string OptionsKey(string? key)
    {
        try { return BackendOptions.Parse(key).Key; }
        catch (HeteroBatchException) { return key ?? ""; }
    }

    private static void CheckCount(int count, string what)
    {
        if (count <= 0)
            throw new HeteroBatchException(PlanningErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"The {what} is {count}; it must be at least 1.", count);
    }

    private static HeteroBatchException NoMachines() =>
        new(PlanningErrorIds.NoUnits, ErrorKind.InvalidArgument, "No machine was given to plan on.");

    private static string Ms(double ms) => ms.ToString("0.###", CultureInfo.InvariantCulture);
}
