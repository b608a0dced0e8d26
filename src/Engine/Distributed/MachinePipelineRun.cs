using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using static HeteroBatch.Engine.Distributed.DistributedInference;

namespace HeteroBatch.Engine.Distributed;

/// <summary>The pipeline's stages over machines: each machine resolves the model and its units, profiles its own
/// units, and runs its slice with its own pipeline (<see cref="MachineShareService"/>).</summary>
internal sealed class MachinePipelineRun(DistributedRequest request, IOutputWriter output, CancellationToken cancellationToken)
    : PipelineRun<(MachineState Machine, string[] Units)>(request, request.Plan, output, cancellationToken)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private List<MachineState> _machines = null!;
    private ModelFacts _model = null!;
    private InputSlicer _slicer = null!;
    private IReadOnlyList<MachineCostModel>? _costModels;
    private RunState? _run;

    protected override string ModelName => _model.Name;

    protected override string ResolvingActivity =>
        $"asking {string.Join(", ", (request.Machines ?? Array.Empty<IMachineRunner>()).Select(r => r.Address))} about {request.Model}";

    protected override void Resolve()
    {
        _machines = Prepare(request, CancellationToken);
        _model = _machines[0].Description.Model!;
        Output.WriteVerbose($"Model '{_model.Name}' ({_model.ShortHash}) on every machine.");
        foreach (var m in _machines)
            Output.WriteVerbose($"Machine {m.Name} ({m.Runner.Address}, {PlanText.Ms(m.Runner.OverheadMs)} ms a call): units " +
                string.Join(", ", m.UnitIds.Select(u => m.Options[u] is { Length: > 0 } key ? $"{u} (options {key})" : u)) + ".");
        foreach (var r in (request.Machines ?? Array.Empty<IMachineRunner>()).Where(r => !_machines.Any(m => ReferenceEquals(m.Runner, r))))
            Output.WriteVerbose($"Skipped machine {r.Address}: none of the unit ids names a unit of it.");
    }

    protected override int LoadInput()
    {
        // Only the input's layout: each machine loads its own items.
        _slicer = InputSlicer.Create(request.Input, _model);
        return _slicer.Count;
    }

    protected override BatchPlan CheckPlan(BatchPlan plan, int batchSize)
    {
        try { _costModels = CostModels(new PerfTableStore(request.PerfTablePath).Read()); }
        catch (HeteroBatchException)
        {
            // A given plan runs without the table; failed slices are then re-planned by measured speed.
        }
        return CheckPlan(plan, batchSize, _machines, _model);
    }

    protected override IReadOnlyList<(MachineState Machine, string[] Units)> Missing(IReadOnlyList<PerfEntry> table) =>
        _machines.Select(m => (Machine: m, Units: m.UnitIds.Where(u => !HasRows(table, _model, m, u)).ToArray()))
            .Where(x => x.Units.Length > 0).ToList();

    protected override string Names(IReadOnlyList<(MachineState Machine, string[] Units)> missing) =>
        string.Join(", ", missing.SelectMany(x => x.Units.Select(u => UnitAddress.Qualify(x.Machine.Name, u))));

    protected override HeteroBatchException MissingProfile(string tablePath, IReadOnlyList<(MachineState Machine, string[] Units)> missing) =>
        new(ExecutionErrorIds.MissingProfile, ErrorKind.ObjectNotFound,
            $"The perf table {tablePath} has no measurements of model '{_model.Name}' on " +
            string.Join(", ", missing.SelectMany(x => x.Units.Select(u => $"{UnitAddress.Qualify(x.Machine.Name, u)} (options '{x.Machine.Options[u]}')"))) +
            ". Profile them on their machines (Invoke-Command -Session $s { Measure-BatchProfile ... } | Set-PerfTable), or leave out -NoAutoProfile.",
            string.Join(",", missing.SelectMany(x => x.Units.Select(u => UnitAddress.Qualify(x.Machine.Name, u)))));

    protected override void Profile(IReadOnlyList<(MachineState Machine, string[] Units)> missing, ProfileOptions profileOptions, Action<IReadOnlyList<PerfEntry>> keep)
    {
        var options = request.ForMachine(null) with { ProfileOptions = profileOptions };
        Report(ExecutionStage.Profiling,
            $"profiling {string.Join(", ", missing.SelectMany(x => x.Units.Select(u => UnitAddress.Qualify(x.Machine.Name, u))))} on their machines");
        // Each machine profiles its own units; rows are kept as each machine finishes, so a later failure loses nothing.
        Parallel(missing.Count, i =>
        {
            var (machine, units) = missing[i];
            var rows = machine.Runner.Profile(new ProfileRequest
            {
                Options = options with { Units = machine.UnitIds },
                ModelHash = _model.Hash,
                UnitOptions = units.ToDictionary(u => u, u => machine.Options[u], StringComparer.OrdinalIgnoreCase),
            }, null, CancellationToken);
            keep(rows);
            return rows.Count;
        }, CancellationToken);
    }

    protected override string PlanningActivity(int batchSize) => $"planning {batchSize} items over {_machines.Count} machine(s)";

    protected override BatchPlan Plan(IReadOnlyList<PerfEntry> table, int batchSize)
    {
        // The cold-unit rule (ColdUnitRule: leave out a cold unit whose setup costs more than it saves) is not applied
        // across machines: whether a unit is cold is known only in its machine's process (its session cache), which the
        // coordinator does not see, and each machine runs its local plan as given (UnitPipelineRun never changes a
        // given plan). The setup of remote units is paid before their slice runs and shows in the result's SetupMs.
        _costModels = CostModels(table);
        return MachinePlanner.Plan(_costModels, batchSize, request.Algorithm, cancellationToken: CancellationToken);
    }

    protected override InferenceResult Execute(BatchPlan plan, bool planned)
    {
        _run = new RunState(request, _machines, _model, _slicer, _costModels, plan, Output, CancellationToken);
        return _run.Execute(_clock);
    }

    protected override IReadOnlyList<PerfEntry> Measured(InferenceResult result) => _run!.Measured();

    private IReadOnlyList<MachineCostModel> CostModels(IReadOnlyList<PerfEntry> table) =>
        MachinePlanner.CostModels(table, _model.Name, _model.Hash, _machines.Select(m => new MachineUnits
        {
            MachineName = m.Name, Units = m.UnitIds, UnitOptions = m.Options, DelayMs = m.Runner.OverheadMs,
        }));

    /// <summary>Asks every machine about the model and its units; picks each machine's units from the ids given.</summary>
    private static List<MachineState> Prepare(DistributedRequest request, CancellationToken cancellationToken)
    {
        var runners = request.Machines ?? Array.Empty<IMachineRunner>();
        if (runners.Count == 0)
            throw new HeteroBatchException(ExecutionErrorIds.NoUnits, ErrorKind.InvalidArgument, "No machine was given to run the batch on.");
        var ids = request.Units is { Count: > 0 } given ? given.Where(u => !string.IsNullOrWhiteSpace(u)).ToList()
            : request.Plan is { MachineShares.Length: > 0 } plan ? plan.Shares.Select(s => s.Unit).ToList()
            : null;
        var addresses = ids?.Select(UnitAddress.Parse).ToList();

        MachineQuery QueryFor(IReadOnlyList<string>? units) => new() { Options = request.ForMachine(units?.ToArray()) };

        // First round: ids that name a machine by its address (or no machine) are known before anyone answers.
        var wanted = runners.Select(r => addresses?.Where(a => a.IsOn(r.Address)).Select(a => a.Unit).Distinct(StringComparer.OrdinalIgnoreCase).ToList()).ToList();
        var descriptions = Parallel(runners.Count, i =>
            addresses is not null && wanted[i]!.Count == 0
                ? runners[i].Describe(new MachineQuery(), cancellationToken)   // only its name, to match ids below
                : runners[i].Describe(QueryFor(wanted[i]), cancellationToken), cancellationToken);

        if (addresses is not null)
        {
            // Ids that name a machine by the name it reports.
            var again = new HashSet<int>();
            foreach (var a in addresses.Where(a => a.HasMachine))
            {
                int byAddress = Enumerable.Range(0, runners.Count).FirstOrDefault(i => Same(runners[i].Address, a.MachineName), -1);
                if (byAddress >= 0) continue;
                int byName = Enumerable.Range(0, runners.Count).FirstOrDefault(i => Same(descriptions[i].MachineName, a.MachineName), -1);
                if (byName < 0)
                    throw new HeteroBatchException(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
                        $"Unit '{a}' names machine '{a.MachineName}', but no session leads there. The machines of this run are " +
                        string.Join(", ", Enumerable.Range(0, runners.Count).Select(i => Same(runners[i].Address, descriptions[i].MachineName)
                            ? descriptions[i].MachineName : $"{descriptions[i].MachineName} ({runners[i].Address})")) +
                        ". Add a session to that machine or correct the id.", a.ToString());
                if (!wanted[byName]!.Contains(a.Unit, StringComparer.OrdinalIgnoreCase)) { wanted[byName]!.Add(a.Unit); again.Add(byName); }
            }
            var redo = again.Where(i => wanted[i]!.Count > 0).ToList();
            var answers = Parallel(redo.Count, k => runners[redo[k]].Describe(QueryFor(wanted[redo[k]]), cancellationToken), cancellationToken);
            for (int k = 0; k < redo.Count; k++) descriptions[redo[k]] = answers[k];
        }

        var machines = new List<MachineState>();
        for (int i = 0; i < runners.Count; i++)
        {
            if (addresses is not null && wanted[i]!.Count == 0) continue;
            var d = descriptions[i];
            if (d.Model is null || d.Units.Length == 0)
                throw new HeteroBatchException(ExecutionErrorIds.NoUnits, ErrorKind.ResourceUnavailable,
                    $"Machine {d.MachineName} ({runners[i].Address}) has no available unit to run '{request.Model}' on. Run Get-ComputeUnit -Session there to see why.", d.MachineName);
            machines.Add(new MachineState(runners[i], d));
        }
        if (machines.Count == 0)
            throw new HeteroBatchException(ExecutionErrorIds.NoUnits, ErrorKind.InvalidArgument, "None of the unit ids names a unit of the machines given.");

        var twice = machines.GroupBy(m => m.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw new HeteroBatchException(DistributedErrorIds.DuplicateMachine, ErrorKind.InvalidArgument,
                $"{twice.Count()} sessions lead to machine '{twice.Key}' ({string.Join(", ", twice.Select(m => m.Runner.Address))}); give each machine once.", twice.Key);
        var hashes = machines.GroupBy(m => m.Description.Model!.Hash, StringComparer.OrdinalIgnoreCase).ToList();
        if (hashes.Count > 1)
            throw new HeteroBatchException(DistributedErrorIds.ModelMismatch, ErrorKind.InvalidData,
                $"The machines resolve '{request.Model}' to different files: " +
                string.Join("; ", hashes.Select(g => $"{string.Join(", ", g.Select(m => m.Name))}: {g.First().Description.Model!.ShortHash}")) +
                ". Give every machine the same model file (a path on shared storage, or the same zoo name and module version).", request.Model);
        return machines;
    }

    private static bool HasRows(IReadOnlyList<PerfEntry> rows, ModelFacts model, MachineState machine, string unit) =>
        rows.Any(r => Same(r.MachineName, machine.Name) && Same(r.Unit, unit)
                      && string.Equals(r.Status, PerfStatus.Ok, StringComparison.OrdinalIgnoreCase)
                      && (Same(r.ModelHash, model.Hash) || (string.IsNullOrEmpty(r.ModelHash) && Same(r.Model, model.Name)))
                      && OptionsKey(r.BackendOptions) == machine.Options[unit]);

    /// <summary>Checks a given plan against the machines and the batch; throws InvalidPlan or UnknownMachine.</summary>
    private static BatchPlan CheckPlan(BatchPlan plan, int batchSize, List<MachineState> machines, ModelFacts model)
    {
        if (plan.MachineShares.Length == 0)
            throw new HeteroBatchException(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument,
                "The plan is for one machine, not across machines. Plan across machines with Split-Batch -Unit node1/cpu, node2/cpu (or run this plan without -Session on its machine).", plan.Model);
        if (plan.BatchSize != batchSize)
            throw new HeteroBatchException(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument,
                $"The plan is for a batch of {plan.BatchSize} items but the input has {batchSize}. Plan again for this batch.", plan.BatchSize);
        if (!string.IsNullOrEmpty(plan.ModelHash) && !Same(plan.ModelHash, model.Hash))
            throw new HeteroBatchException(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument,
                $"The plan was made for another model ({plan.Model}) than '{model.Name}' ({model.ShortHash}).", plan.Model);
        int next = 0;
        foreach (var share in plan.MachineShares.Where(s => s.Items > 0).OrderBy(s => s.Offset))
        {
            if (!machines.Any(m => Same(m.Name, share.MachineName)))
                throw new HeteroBatchException(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
                    $"The plan gives items to machine '{share.MachineName}', which is not among the machines of this run ({string.Join(", ", machines.Select(m => m.Name))}).", share.MachineName);
            if (share.Offset != next)
                throw new HeteroBatchException(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument,
                    $"The machines' slices of the plan do not tile the batch: machine '{share.MachineName}' starts at item {share.Offset}, not {next}.", share.MachineName);
            next += share.Items;
        }
        if (next != batchSize)
            throw new HeteroBatchException(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument,
                $"The machines' slices of the plan cover {next} items, not the batch of {batchSize}.", plan.BatchSize);
        return plan;
    }

    private static string OptionsKey(string? key)
    {
        try { return BackendOptions.Parse(key).Key; }
        catch (HeteroBatchException) { return key ?? ""; }
    }
}
