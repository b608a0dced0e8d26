using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// The <see cref="StreamSchedule.Pull"/> schedule of a dataset stream: decoded batches come in (<see cref="Add"/>, in input
/// order), one puller thread per unit takes the next contiguous chunk of good items at the unit's chunk size as soon as
/// the unit is free and runs it on the unit's worker (<see cref="UnitChunkRunner"/>, as the executor runs a share), and
/// <see cref="NextInOrder"/> hands the batches back in input order once every chunk of the batch is done. A unit that
/// fails gives its chunk back to the others and pulls no more; when every unit has failed, the stream ends with the
/// first unit's error.
/// </summary>
internal sealed class PullScheduler : IDisposable
{
    /// <summary>How long a stopped schedule waits for a unit's running chunk before it leaves it.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(1);

    private readonly ModelInfo _model;
    private readonly ISessionProvider _sessions;
    private readonly int _inPerItem, _outPerItem;
    private readonly CancellationToken _token;
    private readonly UnitLane[] _lanes;
    private readonly object _gate = new();
    private readonly Queue<PullBatch> _order = new();    // batches not yet handed back, in input order
    private readonly Queue<PullBatch> _pending = new();  // batches with items not yet taken, in input order
    private readonly LinkedList<PullChunk> _returned = new(); // chunks of failed units, taken first
    private int _next;                                   // first good item of _pending's head not yet taken
    private bool _inputDone;
    private Exception? _inputError;
    private int _liveUnits;
    private Exception? _firstUnitError;
    private readonly List<Thread> _threads = new();
    private CancellationTokenRegistration _wake;

    public PullScheduler(ModelInfo model, IReadOnlyList<ComputeUnit> units, IReadOnlyDictionary<string, BackendOptions> options,
        IReadOnlyList<UnitCostCurve> curves, IReadOnlyDictionary<string, int> chunkSizes, ISessionProvider sessions, CancellationToken cancellationToken)
    {
        _model = model;
        _sessions = sessions;
        _token = cancellationToken;
        _inPerItem = model.InputElementsPerItem;
        _outPerItem = model.OutputElementsPerItem;
        _lanes = units.Where(u => chunkSizes.ContainsKey(u.Id)).Select(u => new UnitLane
        {
            Unit = u,
            Options = options.FirstOrDefault(kv => string.Equals(kv.Key, u.Id, StringComparison.OrdinalIgnoreCase)).Value ?? BackendOptions.Default,
            Curve = curves.First(c => string.Equals(c.Unit, u.Id, StringComparison.OrdinalIgnoreCase)),
            ChunkSize = chunkSizes[u.Id],
        }).ToArray();
    }

    /// <summary>Each unit's part so far.</summary>
    public IReadOnlyList<UnitLane> Lanes => _lanes;

    /// <summary>
    /// Before the clock, all units at once on their workers: opens each session and warms the sizes the unit's chunks
    /// run (a GPU: every size its chunks or a shorter last chunk of a batch may run; a CPU: its chunk's sizes), as the
    /// executor's setup does. A unit that fails here is left out; when none is left, throws the first unit's error.
    /// </summary>
    public void Warm()
    {
        if (_lanes.Length == 0)
            throw new HeteroBatchException(PlanningErrorIds.NoUsableUnit, ErrorKind.ResourceUnavailable,
                $"No unit of this run can run model '{_model.Name}': the perf table marks every measured size of each as too large or too slow. " +
                "Measure them again (Measure-BatchProfile), or use other units.", _model.Name);
        var done = new CountdownEvent(_lanes.Length); // not disposed: after a cancel a worker may still signal it
        foreach (var lane in _lanes)
        {
            var sizes = WarmSizes(lane);
            UnitWorker.For(lane.Unit).Post(worker =>
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    var session = _sessions.Acquire(_model, lane.Unit, lane.Options);
                    UnitChunkRunner.Warm(worker, session, sizes, null, sizes.Max(), _inPerItem, _outPerItem, _token);
                }
                catch (Exception e) when (!_token.IsCancellationRequested)
                {
                    lane.Error = e;
                    Release(lane);
                }
                catch (Exception) { /* cancelled: the caller throws */ }
                finally
                {
                    lane.SetupMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    done.Signal();
                }
            });
        }
        WaitHandle.WaitAny(new[] { done.WaitHandle, _token.WaitHandle });
        _token.ThrowIfCancellationRequested();
        _liveUnits = _lanes.Count(l => l.Error is null);
        if (_liveUnits == 0) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_lanes.First(l => l.Error is not null).Error!);
    }

    /// <summary>The sizes a unit's chunks execute: for a unit of measured sizes only, those of every item count up to its
    /// chunk (a batch's last chunk is shorter); otherwise those of a full chunk (a CPU pays little for a new size).</summary>
    internal static int[] WarmSizes(UnitLane lane)
    {
        var counts = lane.Curve.MeasuredSizesOnly ? Enumerable.Range(1, lane.ChunkSize) : new[] { lane.ChunkSize };
        return counts.SelectMany(lane.Curve.ExecutedBatchSizes).Distinct().Order().ToArray();
    }

    /// <summary>Starts one puller thread per unit that warmed.</summary>
    public void Start()
    {
        _wake = _token.Register(() => { lock (_gate) Monitor.PulseAll(_gate); });
        foreach (var lane in _lanes.Where(l => l.Error is null))
        {
            var thread = new Thread(() => Pull(lane)) { IsBackground = true, Name = "HeteroBatch pull " + lane.Unit.Id };
            _threads.Add(thread);
            thread.Start();
        }
    }

    /// <summary>A decoded batch, in input order (the decode side).</summary>
    public void Add(DecodedBatch batch)
    {
        var pulled = new PullBatch(batch, batch.GoodItems.Length == 0 ? null
            : new BatchInput(batch.Buffer, 0, batch.GoodItems.Length, (int[])_model.InputItemShape.Clone(), null, $"items {batch.FirstItem}-{batch.FirstItem + batch.Count - 1}"),
            new float[batch.GoodItems.Length * _outPerItem]);
        lock (_gate)
        {
            _order.Enqueue(pulled);
            if (pulled.Remaining > 0) _pending.Enqueue(pulled);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>No more batches; <paramref name="error"/> (a decode failure that is not a bad item) ends the stream after the batches before it.</summary>
    public void CompleteAdding(Exception? error)
    {
        lock (_gate)
        {
            _inputDone = true;
            _inputError = error;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// The next batch in input order once all its chunks are done, with its good items' outputs; false at the end. Throws
    /// the decode side's error, the first unit's error when no unit is left, or <see cref="OperationCanceledException"/>.
    /// </summary>
    public bool NextInOrder(out DecodedBatch batch, out BatchOutput? output)
    {
        lock (_gate)
        {
            while (true)
            {
                _token.ThrowIfCancellationRequested();
                if (_order.TryPeek(out var head) && head.Remaining == 0)
                {
                    _order.Dequeue();
                    batch = head.Batch;
                    output = head.Input is null ? null : new BatchOutput(head.Output, head.Input.Count, (int[])_model.OutputItemShape.Clone(), null);
                    return true;
                }
                if (_order.Count > 0 && _liveUnits == 0) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_firstUnitError!);
                if (_order.Count == 0 && _inputDone)
                {
                    if (_inputError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_inputError);
                    batch = null!;
                    output = null;
                    return false;
                }
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>After a stop (cancel or error): waits a little for the pullers, and gives the buffers of the batches not
    /// handed back to <paramref name="returnBuffer"/>.</summary>
    public void Stop(Action<float[]> returnBuffer)
    {
        var deadline = Stopwatch.StartNew();
        foreach (var thread in _threads)
            thread.Join(TimeSpan.FromTicks(Math.Max(0, (CancelGrace - deadline.Elapsed).Ticks)));
        lock (_gate)
        {
            while (_order.TryDequeue(out var left)) returnBuffer(left.Batch.Buffer);
            _pending.Clear();
            _returned.Clear();
        }
    }

    public void Dispose() => _wake.Dispose();

    /// <summary>Takes the next chunk of up to <paramref name="size"/> items: a failed unit's first, then the oldest batch's
    /// next items. Null when the stream is done or stopped.</summary>
    private PullChunk? Take(int size)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_token.IsCancellationRequested || (_liveUnits == 0)) return null;
                if (_returned.First is { } node)
                {
                    _returned.RemoveFirst();
                    var back = node.Value;
                    if (back.Count <= size) return back;
                    _returned.AddFirst(back with { Offset = back.Offset + size, Count = back.Count - size });
                    return back with { Count = size };
                }
                if (_pending.TryPeek(out var head))
                {
                    int count = Math.Min(size, head.Input!.Count - _next);
                    var chunk = new PullChunk(head, _next, count);
                    _next += count;
                    if (_next == head.Input.Count) { _pending.Dequeue(); _next = 0; }
                    return chunk;
                }
                if (_inputDone) return null;
                Monitor.Wait(_gate);
            }
        }
    }

    private void Pull(UnitLane lane)
    {
        try
        {
            while (true)
            {
                long waited = Stopwatch.GetTimestamp();
                var chunk = Take(lane.ChunkSize);
                lane.WaitMs += Stopwatch.GetElapsedTime(waited).TotalMilliseconds;
                if (chunk is null) return;
                Exception? error = null;
                var ran = new ManualResetEventSlim(); // not disposed: after a cancel the worker may still set it
                UnitWorker.For(lane.Unit).Post(worker =>
                {
                    try { RunChunk(worker, lane, chunk); }
                    catch (Exception e) { error = e; }
                    finally { ran.Set(); }
                });
                try { ran.Wait(_token); }
                catch (OperationCanceledException) { return; }
                if (error is not null)
                {
                    if (_token.IsCancellationRequested) return;
                    Fail(lane, chunk, error);
                    return;
                }
                lock (_gate)
                {
                    chunk.Batch.Remaining -= chunk.Count;
                    if (chunk.Batch.Remaining == 0) Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _firstUnitError ??= e;
                _liveUnits = 0;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Runs on the unit's worker thread.</summary>
    private void RunChunk(UnitWorker worker, UnitLane lane, PullChunk chunk)
    {
        long start = Stopwatch.GetTimestamp();
        var session = _sessions.Acquire(_model, lane.Unit, lane.Options);
        var input = chunk.Batch.Input!;
        var sizes = lane.Curve.ExecutedBatchSizes(chunk.Count);
        // A GPU page-locks each of the stream's (reused) buffers once; a no-op after that and on the CPU.
        if (session is IWarmableSession warm) warm.PrepareBuffers(input.Data, sizes.Max());
        UnitChunkRunner.Run(worker, session, input, chunk.Batch.Output, chunk.Offset, chunk.Count, sizes, _outPerItem, (_, _, _, timing) =>
        {
            lane.Runs++;
            lane.ExecMs += timing.ExecMs;
        }, _token);
        // Counted when the whole chunk is done: a failed unit's chunk is run again, and counted, by the unit that takes it.
        lane.Items += chunk.Count;
        lane.Chunks++;
        lane.BusyMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>The unit is down: its session is not reused, its chunk goes back to the others.</summary>
    private void Fail(UnitLane lane, PullChunk chunk, Exception error)
    {
        lane.Error = error;
        var released = new ManualResetEventSlim(); // not disposed: the worker may set it after the wait gave up
        UnitWorker.For(lane.Unit).Post(_ => { Release(lane); released.Set(); });
        released.Wait(CancelGrace);
        lock (_gate)
        {
            _firstUnitError ??= error;
            _liveUnits--;
            // Items the unit finished before it failed are written again by the unit that takes the chunk: same rows.
            _returned.AddFirst(chunk);
            Monitor.PulseAll(_gate);
        }
    }

    private void Release(UnitLane lane)
    {
        try { _sessions.Release(_model, lane.Unit, lane.Options); }
        catch (Exception) { /* closing a broken session may fail too; the stream goes on */ }
    }

    /// <summary>One unit of the schedule and what it did (written by its puller and its worker, read after the run).</summary>
    internal sealed class UnitLane
    {
        public required ComputeUnit Unit { get; init; }
        public required BackendOptions Options { get; init; }
        public required UnitCostCurve Curve { get; init; }
        public required int ChunkSize { get; init; }
        public long Items;
        public int Chunks, Runs;
        public double BusyMs, ExecMs, WaitMs, SetupMs;
        public Exception? Error;
    }

    /// <summary>A decoded batch in the schedule: its good items as one input, their outputs, and the items not yet run.</summary>
    private sealed class PullBatch(DecodedBatch batch, BatchInput? input, float[] output)
    {
        public DecodedBatch Batch { get; } = batch;
        public BatchInput? Input { get; } = input;
        public float[] Output { get; } = output;
        public int Remaining = batch.GoodItems.Length;
    }

    /// <summary>Good items [Offset, Offset + Count) of a batch.</summary>
    private sealed record PullChunk(PullBatch Batch, int Offset, int Count);
}
