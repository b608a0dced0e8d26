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
/// does for a failed unit; items no machine can compute end the run with <c>ItemsNotComputed</c>. The stages are
/// <see cref="MachinePipelineRun"/>'s (the pipeline's, filled in for machines); the machines as lanes of the shared
/// <see cref="LaneCoordinator{TWork}"/> are <see cref="RunState"/>.
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

    internal static bool Same(string? a, string? b) => string.Equals(a ?? "", b ?? "", StringComparison.OrdinalIgnoreCase);


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

    internal sealed class RunState
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
