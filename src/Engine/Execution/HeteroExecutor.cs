using System.Collections.Concurrent;
using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Runs one batch across units at the same time: each unit's share on the unit's own long-lived worker
/// thread, reading its slice of the single input buffer and writing into its slice of one output buffer, so
/// outputs come out in item order with no gathering copy. Chunked and padded shares are run exactly as
/// planned. A unit that fails has its unfinished items re-planned onto the others; items nobody can compute
/// end the run with <c>ItemsNotComputed</c>. Cancellation stops every unit (in-flight runs are terminated).
/// </summary>
public sealed class HeteroExecutor
{
    /// <summary>How long a cancelled run waits for its units to stop before it returns anyway.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(1);

    private readonly ISessionProvider _sessions;
    private readonly Replanner _replanner;

    /// <param name="sessions">Source of the units' sessions (normally the process-wide session cache).</param>
    /// <param name="replanner">Re-plans a failed unit's items; defaults to <see cref="ReplanStrategies.WaterFill"/>.</param>
    public HeteroExecutor(ISessionProvider sessions, Replanner? replanner = null)
    {
        _sessions = sessions ?? throw new ArgumentNullException(nameof(sessions));
        _replanner = replanner ?? ReplanStrategies.WaterFill;
    }

    /// <summary>An executor over the process-wide session cache, re-planning with <see cref="ReplanStrategies.WaterFill"/>.</summary>
    public static HeteroExecutor Default { get; } = new(CachedSessionProvider.Default);

    /// <summary>Runs the batch. Throws <c>InvalidPlan</c>, <c>InvalidInputShape</c>, <c>ItemsNotComputed</c>,
    /// or <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.</summary>
    public InferenceResult Execute(ExecutionRequest request, IProgress<ExecutionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run(request, OutputWriters.ProgressOnly(progress), cancellationToken);

    /// <summary>As <see cref="Execute"/>, telling <paramref name="output"/> the setup costs and re-plans as well as the progress.</summary>
    internal InferenceResult Run(ExecutionRequest request, IOutputWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = request.Model;
        var input = request.Input;
        input.ValidateFor(model);
        if (model.OutputItemShape.Any(d => d <= 0))
            throw new HeteroBatchException(ExecutionErrorIds.UnsupportedModelOutput, ErrorKind.InvalidArgument,
                $"Model '{model.Name}' has an output of free shape [{string.Join(",", model.OutputItemShape)}]; the executor needs a fixed output size per item.", model.Name);
        var assignments = PlanValidation.Validate(request.Plan, input.Count, request.Units, model);
        cancellationToken.ThrowIfCancellationRequested();

        var run = new RunState(request, _sessions, _replanner, output, cancellationToken);
        return run.Execute(assignments);
    }

    /// <summary>One contiguous range of items for one unit, with its chunk sizes (the last may be padded).</summary>
    internal sealed record Assignment(ComputeUnit Unit, int Offset, int Items, int[] Chunks, bool Replanned) : ILaneWork
    {
        public int End => Offset + Items;
    }

    /// <summary>What the run knows about one unit; written by the unit's worker, read by the coordinator after a completion.</summary>
    private sealed class UnitState
    {
        public required ComputeUnit Unit { get; init; }
        public required BackendOptions Options { get; init; }
        public UnitShare? Share { get; init; }
        public int ItemsAssigned;
        public int ItemsDone;
        public int ItemsReplanned;
        public long LastFinishTicks;
        public double ExecMs, IoMs;
        public double SetupMs;
        public readonly List<ChunkRun> Chunks = new();
        public readonly List<int> ExecutedSizes = new();
        public volatile bool Failed;
        public Exception? Error;
    }

    private sealed class RunState
    {
        private readonly ExecutionRequest _request;
        private readonly ISessionProvider _sessions;
        private readonly IOutputWriter _writer;
        private readonly LaneCoordinator<Assignment> _lanes;
        private readonly CancellationToken _caller;
        private readonly float[] _output;
        private readonly int _outPerItem, _inPerItem;
        private readonly Dictionary<string, UnitState> _units;
        private int _totalDone;
        private double _setupMs;

        public RunState(ExecutionRequest request, ISessionProvider sessions, Replanner replanner, IOutputWriter output, CancellationToken token)
        {
            _request = request;
            _sessions = sessions;
            _writer = output;
            _caller = token;
            _lanes = new LaneCoordinator<Assignment>(token, CancelGrace)
            {
                Post = Post,
                Replan = (failed, from, _) => Replan(from, failed.End, failed.Unit.Id, replanner),
                ReportProgress = ReportProgress,
                Output = output,
                LaneName = a => $"unit {a.Unit.Id}",
            };
            _inPerItem = request.Input.ElementsPerItem;
            _outPerItem = request.Model.OutputElementsPerItem;
            _output = BatchInput.AllocateBuffer((long)_outPerItem * request.Input.Count);
            var shares = request.Plan.Shares.ToDictionary(s => s.Unit, StringComparer.OrdinalIgnoreCase);
            _units = request.Units.ToDictionary(u => u.Id, u => new UnitState
            {
                Unit = u,
                Options = request.UnitOptions?.FirstOrDefault(kv => string.Equals(kv.Key, u.Id, StringComparison.OrdinalIgnoreCase)).Value ?? BackendOptions.Default,
                Share = shares.GetValueOrDefault(u.Id),
            }, StringComparer.OrdinalIgnoreCase);
        }

        /// <summary>What the units' work watches: the caller's cancel.</summary>
        private CancellationToken Token => _lanes.Token;

        /// <summary>The run's clock, started after the setup.</summary>
        private Stopwatch Clock => _lanes.Clock;

        public InferenceResult Execute(IReadOnlyList<Assignment> assignments)
        {
            _setupMs = Setup(assignments);
            var uncomputed = _lanes.Run(assignments);
            if (uncomputed.Count > 0) throw ItemsNotComputed(uncomputed);
            return BuildResult();
        }

        /// <summary>
        /// Opens each unit's session and warms the batch sizes its share runs (a GPU's algorithm search and graph
        /// capture per size), on the units' own workers, all at once. The run's clock starts after: WallMs is the
        /// steady run the plan predicts, and the one-time cost is reported apart as SetupMs. A unit that fails
        /// here fails its share, which is re-planned like any failure.
        /// </summary>
        private double Setup(IReadOnlyList<Assignment> assignments)
        {
            var clock = Stopwatch.StartNew();
            var sizesByUnit = assignments.GroupBy(a => a.Unit.Id, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => g.SelectMany(a => a.Chunks).ToList(), StringComparer.OrdinalIgnoreCase);
            foreach (var (unit, extra) in _request.WarmSizes ?? new Dictionary<string, int[]>())
                if (_units.ContainsKey(unit))
                {
                    if (!sizesByUnit.TryGetValue(unit, out var list)) sizesByUnit[unit] = list = new List<int>();
                    list.AddRange(extra.Where(b => b > 0));
                }
            if (sizesByUnit.Count == 0) return 0;
            var ranges = assignments.GroupBy(a => a.Unit.Id, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
            // Not disposed: after a cancel a worker may still signal it.
            var done = new CountdownEvent(sizesByUnit.Count);
            foreach (var (unitId, sizeList) in sizesByUnit)
            {
                var state = _units[unitId];
                var sizes = sizeList.Distinct().Order().ToArray();
                // A padded last chunk runs from the worker's staging buffer: size and lock it here too.
                int padded = assignments.Where(a => string.Equals(a.Unit.Id, unitId, StringComparison.OrdinalIgnoreCase) && a.Chunks.Sum() > a.Items)
                    .Select(a => a.Chunks[^1]).DefaultIfEmpty(0).Max();
                UnitWorker.For(state.Unit).Post(worker =>
                {
                    long start = Stopwatch.GetTimestamp();
                    try
                    {
                        var session = _sessions.Acquire(_request.Model, state.Unit, state.Options);
                        ReadOnlyMemory<float>? input = ranges.TryGetValue(unitId, out var range) ? _request.Input.Slice(range.Offset, range.Items) : null;
                        UnitChunkRunner.Warm(worker, session, sizes, input, padded, _inPerItem, _outPerItem, Token);
                    }
                    catch (Exception e)
                    {
                        if (!Token.IsCancellationRequested)
                        {
                            state.Error ??= e;
                            state.Failed = true;
                            ReleaseSession(state);
                        }
                    }
                    finally
                    {
                        state.SetupMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        done.Signal();
                    }
                });
            }
            WaitHandle.WaitAny(new[] { done.WaitHandle, Token.WaitHandle });
            _caller.ThrowIfCancellationRequested();
            var elapsed = clock.Elapsed.TotalMilliseconds;
            _writer.WriteVerbose($"Setup before the clock starts ({PlanText.Ms(elapsed)} ms, units at once): " + string.Join("; ", sizesByUnit.Keys.Select(id =>
            {
                var u = _units[id];
                var sizes = sizesByUnit[id].Distinct().Order();
                return $"{id} opened its session and warmed batch sizes {string.Join(", ", sizes)} in {PlanText.Ms(u.SetupMs)} ms" +
                       (u.Failed ? $", then failed: {u.Error?.Message}" : "");
            })) + ".");
            return elapsed;
        }

        private void Post(Assignment a)
        {
            var state = _units[a.Unit.Id];
            state.ItemsAssigned += a.Items;
            if (a.Replanned) state.ItemsReplanned += a.Items;
            UnitWorker.For(a.Unit).Post(worker => RunAssignment(worker, a));
        }

        /// <summary>Runs on the unit's worker thread.</summary>
        private void RunAssignment(UnitWorker worker, Assignment a)
        {
            var state = _units[a.Unit.Id];
            int position = a.Offset;
            try
            {
                if (state.Failed)
                    throw new HeteroBatchException(ExecutionErrorIds.UnitFailedEarlier, ErrorKind.DeviceError, $"Unit '{a.Unit.Id}' failed earlier in this run.", a.Unit.Id);
                Token.ThrowIfCancellationRequested();
                var session = _sessions.Acquire(_request.Model, a.Unit, state.Options);
                UnitChunkRunner.Run(worker, session, _request.Input, _output, a.Offset, a.Items, a.Chunks, _outPerItem, (first, size, real, timing) =>
                {
                    state.Chunks.Add(new ChunkRun(first, size, real, timing.ExecMs, timing.IoMs));
                    state.ExecutedSizes.Add(size);
                    state.ExecMs += timing.ExecMs;
                    state.IoMs += timing.IoMs;
                    position = first + real;
                    Interlocked.Add(ref state.ItemsDone, real);
                    Interlocked.Add(ref _totalDone, real);
                    Volatile.Write(ref state.LastFinishTicks, Clock.Elapsed.Ticks);
                    ReportProgress();
                }, Token);
                _lanes.Complete(a, position, null);
            }
            catch (Exception e)
            {
                if (!Token.IsCancellationRequested)
                {
                    // The first error is the one worth reporting; later ones only say the unit was already down.
                    state.Error ??= e;
                    state.Failed = true;
                    ReleaseSession(state);
                }
                _lanes.Complete(a, position, e);
            }
        }

        /// <summary>A failed unit's session (out of memory, a broken device context) is not reused: the next run opens a
        /// fresh one. Runs on the unit's worker, so no other run is using it.</summary>
        private void ReleaseSession(UnitState state)
        {
            try { _sessions.Release(_request.Model, state.Unit, state.Options); }
            catch (Exception) { /* closing a broken session may fail too; the run goes on */ }
        }

        private IReadOnlyList<Assignment> Replan(int from, int to, string failedUnit, Replanner replanner)
        {
            var candidates = _units.Values.Where(u => !u.Failed).ToList();
            if (candidates.Count == 0) return Array.Empty<Assignment>();
            var units = candidates.Select(u =>
            {
                int done = Volatile.Read(ref u.ItemsDone);
                double msPerItem = double.NaN;
                if (done > 0 && u.ExecMs + u.IoMs > 0) msPerItem = TimeSpan.FromTicks(Volatile.Read(ref u.LastFinishTicks)).TotalMilliseconds / Math.Max(1, done);
                else if (u.Share is { Items: > 0, PredictedMs: > 0 } s) msPerItem = s.PredictedMs / s.Items;
                int queued = Math.Max(0, u.ItemsAssigned - done);
                int? maxChunk = u.Share is { ExecutedBatchSizes.Length: > 0 } share ? share.ExecutedBatchSizes.Max() : null;
                return new ReplanUnit
                {
                    Unit = u.Unit.Id,
                    MsPerItem = msPerItem,
                    BusyMs = double.IsFinite(msPerItem) ? queued * msPerItem : 0,
                    MaxChunk = maxChunk,
                };
            }).ToList();
            var request = new ReplanRequest
            {
                Offset = from,
                Items = to - from,
                Units = units,
                Plan = _request.Plan,
                Model = _request.Model,
                FailedUnit = failedUnit,
            };
            IReadOnlyList<UnitShare> shares;
            try { shares = replanner(request); }
            catch (Exception) { shares = ReplanStrategies.WaterFill(request); }
            if (!PlanValidation.TilesRange(shares, from, to, units.Select(u => u.Unit).ToHashSet(StringComparer.OrdinalIgnoreCase), _request.Model))
                shares = ReplanStrategies.WaterFill(request);
            return shares.Where(s => s.Items > 0)
                .Select(s => new Assignment(_units[s.Unit].Unit, s.Offset, s.Items, PlanValidation.ChunksFor(s, _request.Model), true))
                .ToList();
        }

        private void ReportProgress() =>
            _writer.WriteProgress(ExecutionProgress.Executing(Volatile.Read(ref _totalDone), _request.Input.Count,
                _units.Values.Where(u => u.ItemsAssigned > 0 || u.Share is not null)
                    .Select(u => new UnitProgress(u.Unit.Id, Volatile.Read(ref u.ItemsDone), u.ItemsAssigned, u.Failed)).ToArray()));

        private InferenceResult BuildResult()
        {
            var plan = _request.Plan;
            var reports = new List<UnitRunReport>();
            var order = plan.Shares.Select(s => s.Unit).Concat(_units.Keys).Distinct(StringComparer.OrdinalIgnoreCase);
            foreach (var id in order)
            {
                var u = _units[id];
                if (u.Share is null && u.ItemsAssigned == 0) continue;
                reports.Add(new UnitRunReport
                {
                    Unit = u.Unit.Id,
                    MachineName = u.Unit.MachineName,
                    Items = u.Share?.Items ?? 0,
                    Offset = u.Share?.Offset ?? 0,
                    ExecutedBatchSizes = u.ExecutedSizes.ToArray(),
                    PredictedMs = u.Share?.PredictedMs ?? 0,
                    ActualMs = u.ItemsDone > 0 ? TimeSpan.FromTicks(u.LastFinishTicks).TotalMilliseconds : 0,
                    ExecMs = u.ExecMs,
                    IoMs = u.IoMs,
                    SetupMs = u.SetupMs,
                    ItemsCompleted = u.ItemsDone,
                    ItemsReplanned = u.ItemsReplanned,
                    Failed = u.Failed,
                    Error = u.Error?.Message,
                    ErrorId = (u.Error as HeteroBatchException)?.ErrorId,
                    Chunks = u.Chunks.ToArray(),
                });
            }
            var input = _request.Input;
            return InferenceResult.Of(_request.Model.Name, _request.Model.Hash, _output, input.Count, _request.Model.OutputItemShape, input.Sources,
                input.Description, plan, Clock.Elapsed.TotalMilliseconds, _setupMs, reports.ToArray());
        }

        private HeteroBatchException ItemsNotComputed(IReadOnlyList<(int From, int To)> ranges) =>
            UncomputedItems.Error(ranges, _request.Input.Count, "unit",
                _units.Values.Where(u => u.Failed && u.Error is not null).Select(u => (u.Unit.Id, u.Error!)));
    }
}
