using System.Collections.Concurrent;
using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

/// <summary>
/// Runs one batch across machines: asks every machine for its units and the model (all must resolve it to the same
/// file), profiles on their own machines the units the table lacks and keeps the rows in this machine's table, plans
/// in two levels (<see cref="MachinePlanner"/>: machines by their aggregate curves plus their call overhead, then
/// each machine's units), sends each machine its slice — file paths, a synthetic batch's seed, or a tensor's bytes —
/// with its local plan, and gathers the outputs in item order. A machine that drops out (<see cref="MachineFailedException"/>
/// or any failure other than bad input) has its slice re-planned over the machines still running, as the executor
/// does for a failed unit; items no machine can compute end the run with <c>ItemsNotComputed</c>.
/// </summary>
public static class DistributedInference
{
    /// <summary>How long a cancelled run waits for its machines to answer before it returns anyway.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(2);

    /// <summary>Runs <paramref name="request"/>. Throws <see cref="HeteroBatchException"/> (UnknownMachine, UnitNotFound,
    /// ModelMismatch, DuplicateMachine, the input ErrorIds, MissingProfile, InvalidPlan, ItemsNotComputed, …) or
    /// <see cref="OperationCanceledException"/>.</summary>
    public static InferenceResult Run(DistributedRequest request, IProgress<ExecutionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run(request, OutputWriters.ProgressOnly(progress), cancellationToken);

    /// <summary>Runs <paramref name="request"/>, telling <paramref name="output"/> what it decides and why (verbose), what it
    /// handled (warnings) and its progress. Throws as the other overload.</summary>
    public static InferenceResult Run(DistributedRequest request, IOutputWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(output);
        return new MachinePipelineRun(request, output, cancellationToken).Run();
    }

    /// <summary>The pipeline's stages over machines: each machine resolves the model and its units, profiles its own
    /// units, and runs its slice with its own pipeline (<see cref="MachineShareService"/>).</summary>
    private sealed class MachinePipelineRun(DistributedRequest request, IOutputWriter output, CancellationToken cancellationToken)
        : PipelineRun<(MachineState Machine, string[] Units)>(request, request.Plan, output, cancellationToken)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private List<MachineState> _machines = null!;
        private ModelFacts _model = null!;
        private InputSlicer _slicer = null!;
        private IReadOnlyList<MachineCostModel>? _costModels;
        private RunState? _run;

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
            return DistributedInference.CheckPlan(plan, batchSize, _machines, _model);
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
    }

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

    /// <summary>Runs <paramref name="work"/> for 0..count-1 at once (one thread each: the calls wait on other machines) and
    /// returns the results in order; the first failure (in index order) is thrown.</summary>
    internal static T[] Parallel<T>(int count, Func<int, T> work, CancellationToken cancellationToken)
    {
        var tasks = Enumerable.Range(0, count)
            .Select(i => Task.Factory.StartNew(() => work(i), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        try { Task.WaitAll(tasks, cancellationToken); }
        catch (AggregateException) { }
        foreach (var t in tasks)
            if (t.IsFaulted) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(t.Exception!.InnerExceptions[0]).Throw();
        cancellationToken.ThrowIfCancellationRequested();
        return tasks.Select(t => t.Result).ToArray();
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

    internal static bool Same(string? a, string? b) => string.Equals(a ?? "", b ?? "", StringComparison.OrdinalIgnoreCase);

    private static string OptionsKey(string? key)
    {
        try { return BackendOptions.Parse(key).Key; }
        catch (HeteroBatchException) { return key ?? ""; }
    }

    /// <summary>A machine of a run: what it said about itself, and what it has done so far.</summary>
    internal sealed class MachineState
    {
        public MachineState(IMachineRunner runner, MachineDescription description)
        {
            Runner = runner;
            Description = description;
            UnitIds = description.Units.Select(u => u.Id).ToArray();
            Options = description.Units.ToDictionary(u => u.Id, u => description.UnitOptions.GetValueOrDefault(u.Id) ?? "", StringComparer.OrdinalIgnoreCase);
        }

        public IMachineRunner Runner { get; }
        public MachineDescription Description { get; }
        public string Name => Description.MachineName;
        public string[] UnitIds { get; }
        public Dictionary<string, string> Options { get; }

        /// <summary>One call to the machine at a time (a PowerShell session runs one command at a time).</summary>
        public readonly SemaphoreSlim Gate = new(1, 1);
        public volatile bool Failed;
        public Exception? Error;
        public readonly List<Finished> Done = new();
        public readonly List<Slice> Outstanding = new();
        public int ItemsAssigned, ItemsDone, InFlightDone;
        public double RunningSinceMs = double.NaN;
    }

    /// <summary>A contiguous slice of the batch for one machine, with the machine's plan for it (null: it plans itself).</summary>
    internal sealed record Slice(MachineState Machine, int Offset, int Count, BatchPlan? LocalPlan, bool Replanned, double PredictedMs) : ILaneWork
    {
        int ILaneWork.Items => Count;
    }

    internal sealed record Finished(Slice Slice, ShareResult Result, double StartMs, double EndMs, double TransferMs);

    private sealed class RunState
    {
        private readonly DistributedRequest _request;
        private readonly List<MachineState> _machines;
        private readonly ModelFacts _model;
        private readonly InputSlicer _slicer;
        private readonly IReadOnlyList<MachineCostModel>? _costModels;
        private readonly BatchPlan _plan;
        private readonly IOutputWriter _writer;
        private readonly LaneCoordinator<Slice> _lanes;
        private readonly float[] _output;
        private readonly int _outPerItem;
        private int _totalDone;

        public RunState(DistributedRequest request, List<MachineState> machines, ModelFacts model, InputSlicer slicer,
            IReadOnlyList<MachineCostModel>? costModels, BatchPlan plan, IOutputWriter output, CancellationToken cancellationToken)
        {
            _request = request;
            _machines = machines;
            _model = model;
            _slicer = slicer;
            _costModels = costModels;
            _plan = plan;
            _writer = output;
            _lanes = new LaneCoordinator<Slice>(cancellationToken, CancelGrace)
            {
                Post = Post,
                Replan = (failed, _, error) =>
                {
                    var machine = failed.Machine;
                    lock (machine) machine.Error ??= error;
                    machine.Failed = true;
                    return Replan(failed);
                },
                StopsRun = IsRequestError,
                ReportProgress = ReportProgress,
                Output = output,
                LaneName = slice => $"machine {slice.Machine.Name}",
            };
            _outPerItem = model.OutputElementsPerItem;
            _output = GC.AllocateUninitializedArray<float>(checked(_outPerItem * slicer.Count));
        }

        /// <summary>The run's clock.</summary>
        private Stopwatch Clock => _lanes.Clock;

        public InferenceResult Execute(Stopwatch total)
        {
            var uncomputed = _lanes.Run(_plan.MachineShares.Where(s => s.Items > 0).Select(share =>
                new Slice(Machine(share.MachineName), share.Offset, share.Items, MachinePlanner.LocalPlan(_plan, share.MachineName), false, share.PredictedMs)).ToList());
            if (uncomputed.Count > 0) throw ItemsNotComputed(uncomputed);
            return BuildResult(total);
        }

        private MachineState Machine(string name) =>
            _machines.FirstOrDefault(m => Same(m.Name, name))
            ?? throw new HeteroBatchException(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound, $"Machine '{name}' is not part of this run.", name);

        private void Post(Slice slice)
        {
            var m = slice.Machine;
            lock (m)
            {
                m.ItemsAssigned += slice.Count;
                m.Outstanding.Add(slice);
            }
            Task.Factory.StartNew(() => RunSlice(slice), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        /// <summary>Runs on a thread of its own; the machine's gate keeps its calls one at a time.</summary>
        private void RunSlice(Slice slice)
        {
            var m = slice.Machine;
            var token = _lanes.Token;
            bool entered = false;
            try
            {
                m.Gate.Wait(token);
                entered = true;
                if (m.Failed) throw new MachineFailedException(m.Name, $"Machine {m.Name} dropped out earlier in this run.");
                double start = Clock.Elapsed.TotalMilliseconds;
                lock (m) m.RunningSinceMs = start;
                var request = new ShareRequest
                {
                    Options = _request.ForMachine(m.UnitIds),
                    ModelHash = _model.Hash,
                    Input = _slicer.For(slice.Offset, slice.Count),
                    Plan = slice.LocalPlan,
                    FirstItem = slice.Offset,
                };
                var tensor = _slicer.TensorFor(slice.Offset, slice.Count);
                var itemsDone = new CallbackProgress(n => { Volatile.Write(ref m.InFlightDone, n); ReportProgress(); });
                var result = m.Runner.Run(request, tensor, itemsDone, token);
                double end = Clock.Elapsed.TotalMilliseconds;
                var output = result.Output ?? Array.Empty<float>();
                if (result.Items != slice.Count || output.Length != slice.Count * _outPerItem)
                    throw new HeteroBatchException(DistributedErrorIds.RemoteProtocolError, ErrorKind.DeviceError,
                        $"Machine {m.Name} returned {result.Items} items ({output.Length} values) for a slice of {slice.Count} items of {_outPerItem} values.", m.Name);
                output.CopyTo(_output.AsSpan(slice.Offset * _outPerItem, output.Length));
                lock (m)
                {
                    m.Done.Add(new Finished(slice, result, start, end, Math.Max(0, end - start - result.WallMs)));
                    m.ItemsDone += slice.Count;
                    m.InFlightDone = 0;
                    m.Outstanding.Remove(slice);
                    m.RunningSinceMs = double.NaN;
                }
                Interlocked.Add(ref _totalDone, slice.Count);
                ReportProgress();
                _lanes.Complete(slice, slice.Offset + slice.Count, null);
            }
            catch (Exception e)
            {
                lock (m)
                {
                    m.InFlightDone = 0;
                    m.Outstanding.Remove(slice);
                    m.RunningSinceMs = double.NaN;
                }
                _lanes.Complete(slice, slice.Offset, e);
            }
            finally
            {
                if (entered) m.Gate.Release();
            }
        }

        private static bool IsRequestError(Exception e) =>
            e is HeteroBatchException { Kind: ErrorKind.InvalidArgument or ErrorKind.InvalidData } hb
            && hb.ErrorId != DistributedErrorIds.RemoteProtocolError;

        /// <summary>The failed slice's items over the machines still running: by the table's curves (each machine's
        /// queued work as its busy time) when the run has them, else by each machine's measured speed.</summary>
        private List<Slice> Replan(Slice failed)
        {
            var candidates = _machines.Where(m => !m.Failed).ToList();
            if (candidates.Count == 0) return new List<Slice>();
            double now = Clock.Elapsed.TotalMilliseconds;
            var busy = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
            foreach (var m in candidates)
            {
                lock (m)
                {
                    double queued = m.Outstanding.Sum(s => s.PredictedMs);
                    double running = double.IsNaN(m.RunningSinceMs) ? 0 : now - m.RunningSinceMs;
                    busy[m.Name] = Math.Max(0, queued - running);
                }
            }

            if (_costModels is not null)
            {
                try
                {
                    var plan = MachinePlanner.Replan(_costModels, failed.Offset, failed.Count, candidates.Select(m => m.Name), busy, _request.Algorithm);
                    return plan.MachineShares.Where(s => s.Items > 0)
                        .Select(s => new Slice(Machine(s.MachineName), s.Offset, s.Items, MachinePlanner.LocalPlan(plan, s.MachineName), true, s.PredictedMs))
                        .ToList();
                }
                catch (HeteroBatchException) { }
            }
            return ReplanBySpeed(failed, candidates, busy);
        }

        private List<Slice> ReplanBySpeed(Slice failed, List<MachineState> candidates, Dictionary<string, double> busy)
        {
            var msPerItem = candidates.Select(m =>
            {
                lock (m)
                {
                    int items = m.Done.Sum(d => d.Slice.Count);
                    double ms = m.Done.Sum(d => d.EndMs - d.StartMs);
                    if (items > 0 && ms > 0) return ms / items;
                }
                var share = _plan.MachineShares.FirstOrDefault(s => Same(s.MachineName, m.Name));
                return share is { Items: > 0, PredictedMs: > 0 } ? share.PredictedMs / share.Items : double.NaN;
            }).ToArray();
            var busyMs = candidates.Select(m => busy[m.Name]).ToArray();
            var counts = WaterFill.Split(failed.Count, busyMs, msPerItem);
            var slices = new List<Slice>();
            int offset = failed.Offset;
            for (int i = 0; i < candidates.Count; i++)
            {
                if (counts[i] == 0) continue;
                slices.Add(new Slice(candidates[i], offset, counts[i], null, true, WaterFill.FinishMs(busyMs[i], counts[i], msPerItem[i], msPerItem)));
                offset += counts[i];
            }
            return slices;
        }

        private void ReportProgress() =>
            _writer.WriteProgress(ExecutionProgress.Executing(
                Volatile.Read(ref _totalDone) + _machines.Sum(m => Volatile.Read(ref m.InFlightDone)), _slicer.Count,
                _machines.Select(m => new UnitProgress(m.Name, Volatile.Read(ref m.ItemsDone) + Volatile.Read(ref m.InFlightDone), Volatile.Read(ref m.ItemsAssigned), m.Failed)).ToArray()));

        /// <summary>The measured chunk times of every machine's slices, to fold into the table.</summary>
        public IReadOnlyList<PerfEntry> Measured()
        {
            var rows = new List<PerfEntry>();
            foreach (var m in _machines) lock (m) rows.AddRange(m.Done.SelectMany(d => d.Result.Measured));
            return rows;
        }

        private InferenceResult BuildResult(Stopwatch total)
        {
            var units = new List<UnitRunReport>();
            var machineRows = new List<UnitRunReport>();
            foreach (var m in _machines)
            {
                List<Finished> done;
                lock (m) done = m.Done.ToList();
                foreach (var id in m.UnitIds)
                {
                    var qualified = UnitAddress.Qualify(m.Name, id);
                    var planned = _plan.Shares.FirstOrDefault(s => Same(s.Unit, qualified));
                    var reports = done.SelectMany(d => d.Result.Units.Where(r => Same(r.Unit, id)).Select(r => (Run: d, Report: r))).ToList();
                    if (planned is null && reports.Count == 0) continue;
                    var failed = reports.Where(x => x.Report.Failed).Select(x => x.Report).FirstOrDefault();
                    units.Add(new UnitRunReport
                    {
                        Unit = qualified,
                        MachineName = m.Name,
                        Items = planned?.Items ?? 0,
                        Offset = planned?.Offset ?? 0,
                        ExecutedBatchSizes = reports.SelectMany(x => x.Report.ExecutedBatchSizes).ToArray(),
                        PredictedMs = planned?.PredictedMs ?? 0,
                        ActualMs = reports.Where(x => x.Report.ItemsCompleted > 0).Select(x => x.Run.StartMs + x.Report.ActualMs).DefaultIfEmpty(0).Max(),
                        ExecMs = reports.Sum(x => x.Report.ExecMs),
                        IoMs = reports.Sum(x => x.Report.IoMs),
                        ItemsCompleted = reports.Sum(x => x.Report.ItemsCompleted),
                        ItemsReplanned = reports.Sum(x => x.Run.Slice.Replanned ? x.Report.ItemsCompleted : x.Report.ItemsReplanned),
                        Failed = failed is not null,
                        Error = failed?.Error,
                        ErrorId = failed?.ErrorId,
                    });
                }
                var share = _plan.MachineShares.FirstOrDefault(s => Same(s.MachineName, m.Name));
                var error = m.Error;
                machineRows.Add(new UnitRunReport
                {
                    Unit = m.Name,
                    MachineName = m.Name,
                    Items = share?.Items ?? 0,
                    Offset = share?.Offset ?? 0,
                    ExecutedBatchSizes = done.Select(d => d.Slice.Count).ToArray(),
                    PredictedMs = share?.PredictedMs ?? 0,
                    ActualMs = done.Select(d => d.EndMs).DefaultIfEmpty(0).Max(),
                    ExecMs = done.Sum(d => d.Result.Units.Sum(u => u.ExecMs)),
                    IoMs = done.Sum(d => d.Result.Units.Sum(u => u.IoMs)),
                    TransferMs = done.Sum(d => d.TransferMs),
                    ItemsCompleted = done.Sum(d => d.Slice.Count),
                    ItemsReplanned = done.Where(d => d.Slice.Replanned).Sum(d => d.Slice.Count),
                    Failed = m.Failed,
                    Error = error?.Message,
                    ErrorId = (error as HeteroBatchException)?.ErrorId,
                });
            }
            return InferenceResult.Of(_model.Name, _model.Hash, _output, _slicer.Count, _model.OutputItemShape, _slicer.Sources, _slicer.Description,
                _plan, total.Elapsed.TotalMilliseconds, 0, units.ToArray(), machineRows.ToArray());
        }

        private HeteroBatchException ItemsNotComputed(IReadOnlyList<(int From, int To)> ranges) =>
            UncomputedItems.Error(ranges, _slicer.Count, "machine",
                _machines.Where(m => m.Failed && m.Error is not null).Select(m => (m.Name, m.Error!)));
    }

    private sealed class CallbackProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
