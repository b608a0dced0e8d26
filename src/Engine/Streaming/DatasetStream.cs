using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// Streams a dataset through the units: decode workers on the CPU fill at most <see cref="DatasetRequest.BatchesInFlight"/>
/// batch buffers ahead (<see cref="StreamBufferPool"/>), the units run them by the request's <see cref="StreamSchedule"/>
/// (PerBatch: each batch planned and split across the units by the perf table, <see cref="InferencePipeline.Run"/>, the
/// static plan of a batch; Pull: every unit pulls chunks at its own size, <see cref="PullScheduler"/>), and outputs leave
/// in input order: rows appended to a streamed .npy (<see cref="NpyStreamWriter"/>) and one <see cref="DatasetItemResult"/> per item.
/// The decode workers' cores are taken from the CPU unit's thread budget (<see cref="InferenceRequest.ReservedCores"/>).
/// </summary>
public sealed class DatasetStream
{
    private readonly DatasetRequest _request;
    private long _itemsDone;

    public DatasetStream(DatasetRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _request = request;
    }

    /// <summary>Items whose rows are on disk (or, without an output file, whose results were written): readable after Ctrl+C.</summary>
    public long ItemsDone => Interlocked.Read(ref _itemsDone);
    /// <summary>Full path of the output .npy once the run has opened it.</summary>
    public string? OutputPath { get; private set; }

    /// <summary>
    /// Decode workers when none are asked for: with GPUs, every core but one feeder per GPU decodes (a GPU outruns
    /// any CPU decoder); on the CPU alone, half the cores (at least 1) decode and the rest run the model.
    /// </summary>
    public static int DecodeWorkersFor(IReadOnlyList<ComputeUnit> units, int logicalCores)
    {
        int gpus = units.Count(u => u.Kind != ComputeUnitKind.Cpu);
        return gpus > 0 ? Math.Max(1, logicalCores - gpus) : Math.Max(1, logicalCores / 2);
    }

    /// <summary>
    /// Runs the stream. <paramref name="onItem"/> gets every item's result in input order (on the calling thread),
    /// <paramref name="onBadItem"/> every skipped item. Throws the input and pipeline ErrorIds, ResumeMismatch,
    /// InvalidStreamSetting, NoGoodItems, or <see cref="OperationCanceledException"/> (the output then holds exactly
    /// <see cref="ItemsDone"/> rows).
    /// </summary>
    public DatasetSummary Run(Action<DatasetItemResult>? onItem, Action<DatasetBadItem>? onBadItem,
        IProgress<DatasetProgress>? progress, CancellationToken cancellationToken)
    {
        var r = _request;
        if (r.BatchSize < 1) throw Setting($"The batch size must be 1 or more, not {r.BatchSize}.", r.BatchSize);
        if (r.BatchesInFlight < 2) throw Setting($"At least 2 batches must be in flight (one running, one decoding), not {r.BatchesInFlight}.", r.BatchesInFlight);
        if (r.DecodeWorkers < 0) throw Setting($"Decode workers must be 0 (pick) or more, not {r.DecodeWorkers}.", r.DecodeWorkers);
        if (!Enum.IsDefined(r.Schedule)) throw Setting($"Unknown schedule {r.Schedule}; use PerBatch or Pull.", r.Schedule);
        if (r.Resume && r.OutputPath is null) throw Setting("-Resume continues an output .npy; give -OutputPath too.", "Resume");

        var model = ModelResolver.Resolve(r.Model, r.ModelCacheDirectory, null, cancellationToken);
        var source = DatasetSource.Open(r.Paths, r.Decoder);
        source.CheckFits(model.InputItemShape, model.Name);
        var itemShape = model.InputItemShape;
        int perItem = itemShape.Aggregate(1, (a, b) => checked(a * b));

        var baseRequest = new InferenceRequest
        {
            Model = r.Model, ModelCacheDirectory = r.ModelCacheDirectory, Units = r.Units, PerfTablePath = r.PerfTablePath,
            NoAutoProfile = r.NoAutoProfile, ProfileOptions = r.ProfileOptions, BackendOptions = r.BackendOptions, Precision = r.Precision,
            Input = InputSource.Synthetic(1),
            // The stream's batches share each unit's setup: weighed against one batch, a cold unit would never be used.
            KeepColdUnits = true,
        };
        var units = InferencePipeline.ResolveUnits(baseRequest);
        int cores = Environment.ProcessorCount;
        bool hasCpu = units.Any(u => u.Kind == ComputeUnitKind.Cpu);
        int decodeWorkers, reserved;
        if (!source.IsImages)
        {
            (decodeWorkers, reserved) = (Math.Max(1, r.DecodeWorkers), 0);
            _coreSplitNote = ".npy windows are read by 1 thread; every core runs inference";
        }
        else if (units.Any(u => u.Kind != ComputeUnitKind.Cpu) || !hasCpu || r.DecodeWorkers > 0)
        {
            decodeWorkers = r.DecodeWorkers > 0 ? r.DecodeWorkers : DecodeWorkersFor(units, cores);
            reserved = hasCpu ? Math.Min(decodeWorkers, Math.Max(0, ThreadBudget.CpuThreads(units, cores) - 1)) : 0;
            _coreSplitNote = $"{decodeWorkers} decode worker(s) ({(r.DecodeWorkers > 0 ? "asked" : "every core but one feeder per GPU")})" +
                             (hasCpu ? $", the CPU unit's threads cut by {reserved}" : "");
        }
        else (decodeWorkers, reserved) = SplitCores(source, model, units, itemShape, cores, r, cancellationToken);
        CoreSplitNote = _coreSplitNote;
        baseRequest = baseRequest with { ReservedCores = reserved };
        var cpuOptions = ThreadBudget.OptionsFor(units, r.BackendOptions, reserved > 0 ? cores - reserved : null);
        int cpuThreads = units.Where(u => u.Kind == ComputeUnitKind.Cpu).Select(u => cpuOptions[u.Id].IntraOpThreads).Sum();

        long start = 0;
        if (r.Resume)
        {
            start = NpyStreamWriter.ExistingRows(r.OutputPath!, out var existingShape);
            if (start > source.Count)
                throw new HeteroBatchException(StreamingErrorIds.ResumeMismatch, ErrorKind.InvalidData,
                    $"'{Path.GetFullPath(r.OutputPath!)}' holds {start} rows but the dataset has only {source.Count} items: it is another dataset's output. " +
                    "Give -OutputPath a new file, or leave out -Resume to replace it.", r.OutputPath);
            if (start > 0 && model.OutputItemShape is { Length: > 0 } outShape && outShape.All(d => d > 0) && existingShape is not null && !existingShape.SequenceEqual(outShape))
                throw new HeteroBatchException(StreamingErrorIds.ResumeMismatch, ErrorKind.InvalidData,
                    $"'{Path.GetFullPath(r.OutputPath!)}' holds items of shape [{string.Join(",", existingShape)}], but model '{model.Name}' outputs [{string.Join(",", outShape)}]: it is another run's output. " +
                    "Give -OutputPath a new file, or leave out -Resume to replace it.", r.OutputPath);
        }
        Interlocked.Exchange(ref _itemsDone, start);

        var sink = new OrderedOutput(this, model, source, start, onItem, onBadItem);
        var stats = new Dictionary<string, UnitStats>(StringComparer.OrdinalIgnoreCase);
        var time = new StreamTimes();
        using var pool = new StreamBufferPool(r.BatchesInFlight, checked(perItem * r.BatchSize));
        if (r.OutputPath is not null && (!r.Resume || start == 0) && start < source.Count) NpyFile.CheckWritable(r.OutputPath);
        var clock = r.Schedule switch
        {
            StreamSchedule.PerBatch => RunPerBatch(baseRequest, source, start, perItem, itemShape, decodeWorkers, pool, sink, stats, time, progress, cancellationToken),
            StreamSchedule.Pull => RunPull(baseRequest, source, start, perItem, itemShape, decodeWorkers, pool, sink, stats, time, progress, cancellationToken),
            _ => throw Setting($"Unknown schedule {r.Schedule}; use PerBatch or Pull.", r.Schedule),
        };

        if (r.OutputPath is not null && sink.Writer is null && start == source.Count) OutputPath = Path.GetFullPath(r.OutputPath);
        long ran = stats.Values.Sum(v => v.Items);
        var reports = stats.Select(kv => new DatasetUnitReport
        {
            Unit = kv.Key, Items = kv.Value.Items, Share = ran > 0 ? (double)kv.Value.Items / ran : 0, BusySeconds = kv.Value.Ms / 1000.0,
            Threads = cpuOptions.TryGetValue(kv.Key, out var o) && units.Any(u => u.Id == kv.Key && u.Kind == ComputeUnitKind.Cpu) ? o.IntraOpThreads : 0,
            ChunkSize = kv.Value.ChunkSize, Chunks = kv.Value.Chunks,
        }).OrderBy(u => u.Unit, StringComparer.Ordinal).ToArray();
        return new DatasetSummary
        {
            Model = model.Name, TotalItems = source.Count, Schedule = r.Schedule.ToString(), Items = sink.Items, ResumedFrom = start, BadItems = sink.Bad.Count,
            WallSeconds = clock.Elapsed.TotalSeconds, BatchSize = r.BatchSize, Batches = sink.Batches, BatchesInFlight = r.BatchesInFlight,
            PeakBuffersInUse = pool.PeakInUse, DecodeWorkers = decodeWorkers, CpuInferenceThreads = cpuThreads, LogicalCores = cores,
            CoreSplit = CoreSplitNote,
            Decoder = source.IsImages ? r.Decoder.ToString() : "npy", DecodeSeconds = time.DecodeMs / 1000.0, WaitForDecodeSeconds = time.WaitMs / 1000.0,
            InferenceSeconds = time.InferMs / 1000.0, SetupSeconds = time.SetupMs / 1000.0, Units = reports,
            UnitShares = string.Join(", ", reports.Select(u =>
            {
                var notes = new List<string>();
                if (u.Threads > 0) notes.Add($"{u.Threads} thread{(u.Threads == 1 ? "" : "s")}");
                if (u.ChunkSize > 0) notes.Add($"chunks of {u.ChunkSize}");
                return $"{u.Unit} {u.Share * 100:0}%" + (notes.Count > 0 ? $" ({string.Join(", ", notes)})" : "");
            })),
            OutputPath = OutputPath, OutputRows = r.OutputPath is null ? 0 : ItemsDone, Bad = sink.Bad.ToArray(),
        };
    }

    /// <summary>PerBatch: each decoded batch planned and split across the units (the pipeline's static plan), one after another.</summary>
    private Stopwatch RunPerBatch(InferenceRequest baseRequest, DatasetSource source, long start, int perItem, int[] itemShape, int decodeWorkers,
        StreamBufferPool pool, OrderedOutput sink, Dictionary<string, UnitStats> stats, StreamTimes time, IProgress<DatasetProgress>? progress,
        CancellationToken cancellationToken)
    {
        var r = _request;
        var clock = Stopwatch.StartNew();
        var channel = Channel.CreateUnbounded<DecodedBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = StartProducer(() => Produce(source, start, r.BatchSize, perItem, itemShape, decodeWorkers, pool,
            b => channel.Writer.TryWrite(b), e => channel.Writer.TryComplete(e), stop.Token));
        try
        {
            while (true)
            {
                var waited = Stopwatch.StartNew();
                if (!channel.Reader.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult()) break;
                channel.Reader.TryRead(out var batch);
                time.WaitMs += waited.Elapsed.TotalMilliseconds;
                try
                {
                    time.DecodeMs += batch!.DecodeMs;
                    BatchOutput? output = null;
                    if (batch.GoodItems.Length > 0)
                    {
                        var input = new BatchInput(batch.Buffer, 0, batch.GoodItems.Length, (int[])itemShape.Clone(),
                            batch.GoodItems.Select(i => source.SourceOf(i)).ToArray(), $"items {batch.FirstItem}-{batch.FirstItem + batch.Count - 1} of {source.Count}");
                        var running = Stopwatch.StartNew();
                        var result = InferencePipeline.Run(baseRequest with { Input = InputSource.FromBatch(input) }, (IProgress<ExecutionProgress>?)null, stop.Token);
                        time.InferMs += running.Elapsed.TotalMilliseconds;
                        foreach (var u in result.Units)
                        {
                            var had = stats.GetValueOrDefault(u.Unit) ?? (stats[u.Unit] = new UnitStats());
                            had.Items += u.ItemsCompleted;
                            had.Ms += u.ActualMs;
                            if (u.ItemsCompleted > 0) had.Chunks++;
                        }
                        output = result.GetOutput()!;
                    }
                    sink.Deliver(batch, output);
                }
                finally
                {
                    pool.Return(batch!.Buffer);
                }
                Report(progress, clock, sink, source);
            }
            producer.GetAwaiter().GetResult(); // a decode failure that is not a bad item (a .npy cut short) surfaces here
        }
        catch
        {
            stop.Cancel();
            try { producer.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
            while (channel.Reader.TryRead(out var left)) pool.Return(left.Buffer);
            throw;
        }
        finally
        {
            sink.Writer?.Dispose();
        }
        return clock;
    }

    /// <summary>
    /// Pull: the units' sessions opened and chunk sizes warmed before the clock, then every unit pulls chunks of decoded
    /// items at its own size (<see cref="PullScheduler"/>) while this thread writes the batches out in input order.
    /// </summary>
    private Stopwatch RunPull(InferenceRequest baseRequest, DatasetSource source, long start, int perItem, int[] itemShape, int decodeWorkers,
        StreamBufferPool pool, OrderedOutput sink, Dictionary<string, UnitStats> stats, StreamTimes time, IProgress<DatasetProgress>? progress,
        CancellationToken cancellationToken)
    {
        var r = _request;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var setup = Stopwatch.StartNew();
        // The stages a run takes before it plans: missing rows profiled (or MissingProfile with -NoAutoProfile), as PerBatch.
        var prepared = InferencePipeline.Prepare(baseRequest, r.BatchSize, null, cancellationToken);
        var model = prepared.Model;
        if (model.OutputItemShape.Any(d => d <= 0))
            throw new HeteroBatchException(ExecutionErrorIds.UnsupportedModelOutput, ErrorKind.InvalidArgument,
                $"Model '{model.Name}' has an output of free shape [{string.Join(",", model.OutputItemShape)}]; the pull schedule needs a fixed output size per item. Use -Schedule PerBatch.", model.Name);
        var curves = CostModel.FromTable(prepared.Rows, model.Name, model.Hash, prepared.Units.Select(u => u.Id)).Units;
        var chunkSizes = PullChunkSizes.Choose(curves, r.BatchSize);
        // The units stop on the caller's cancel and on any error of this thread (stop).
        using var scheduler = new PullScheduler(model, prepared.Units, prepared.Options, curves, chunkSizes, CachedSessionProvider.Default, stop.Token);
        scheduler.Warm();
        time.SetupMs = setup.Elapsed.TotalMilliseconds;

        var clock = Stopwatch.StartNew();
        scheduler.Start();
        var producer = StartProducer(() => Produce(source, start, r.BatchSize, perItem, itemShape, decodeWorkers, pool,
            b => { time.DecodeMs += b.DecodeMs; scheduler.Add(b); }, scheduler.CompleteAdding, stop.Token));
        try
        {
            while (true)
            {
                var waited = Stopwatch.StartNew();
                if (!scheduler.NextInOrder(out var batch, out var output)) break;
                time.InferMs += waited.Elapsed.TotalMilliseconds;
                try { sink.Deliver(batch, output); }
                finally { pool.Return(batch.Buffer); }
                Report(progress, clock, sink, source);
            }
            producer.GetAwaiter().GetResult();
        }
        catch
        {
            stop.Cancel();
            try { producer.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
            scheduler.Stop(pool.Return);
            throw;
        }
        finally
        {
            sink.Writer?.Dispose();
            foreach (var lane in scheduler.Lanes.Where(l => l.Items > 0 || l.Error is null))
                stats[lane.Unit.Id] = new UnitStats { Items = lane.Items, Ms = lane.BusyMs, Chunks = lane.Chunks, ChunkSize = lane.ChunkSize };
            time.WaitMs = scheduler.Lanes.Sum(l => l.WaitMs);
        }
        return clock;
    }

    private void Report(IProgress<DatasetProgress>? progress, Stopwatch clock, OrderedOutput sink, DatasetSource source)
    {
        if (progress is null) return;
        double seconds = clock.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? sink.Items / seconds : 0;
        progress.Report(new DatasetProgress
        {
            ItemsDone = ItemsDone, TotalItems = source.Count, ItemsPerSecond = rate, BadItems = sink.Bad.Count,
            SecondsRemaining = rate > 0 ? (int)Math.Ceiling((source.Count - ItemsDone) / rate) : -1,
        });
    }

    /// <summary>One unit's part of the stream.</summary>
    private sealed class UnitStats
    {
        public long Items;
        public double Ms;
        public int Chunks, ChunkSize;
    }

    /// <summary>Where the stream's time went (milliseconds).</summary>
    private sealed class StreamTimes
    {
        public double DecodeMs, WaitMs, InferMs, SetupMs;
    }

    /// <summary>
    /// The batches' way out, in input order, on the calling thread: bad items reported, rows appended to the .npy (NaN for
    /// a bad item), <see cref="ItemsDone"/> moved on once the rows are on disk, and the items' results handed out.
    /// </summary>
    private sealed class OrderedOutput(DatasetStream stream, ModelInfo model, DatasetSource source, long start,
        Action<DatasetItemResult>? onItem, Action<DatasetBadItem>? onBadItem)
    {
        private int[]? _outputShape;

        public NpyStreamWriter? Writer { get; private set; }
        public List<DatasetBadItem> Bad { get; } = new();
        /// <summary>Items written out by this run (good and bad).</summary>
        public long Items { get; private set; }
        public int Batches { get; private set; }

        /// <summary>Writes <paramref name="batch"/> out; <paramref name="output"/> holds its good items' outputs (null when none).</summary>
        public void Deliver(DecodedBatch batch, BatchOutput? output)
        {
            var r = stream._request;
            foreach (var b in batch.Bad) { Bad.Add(b); onBadItem?.Invoke(b); }
            if (output is not null) _outputShape ??= output.ItemShape;
            if (_outputShape is null)
            {
                // A batch of bad items only, before any output told the row shape: the model's declared shape, when fixed.
                if (model.OutputItemShape is { Length: > 0 } declared && declared.All(d => d > 0)) _outputShape = declared;
                else if (r.OutputPath is not null)
                    throw new HeteroBatchException(StreamingErrorIds.NoGoodItems, ErrorKind.InvalidData,
                        $"Items {batch.FirstItem}-{batch.FirstItem + batch.Count - 1} are all bad, and model '{model.Name}' does not declare its output shape, so their NaN rows cannot be written. Remove the bad files.", batch.FirstItem);
            }
            int outPer = _outputShape?.Aggregate(1, (a, b) => a * b) ?? 0;
            if (r.OutputPath is not null)
            {
                var rows = new float[batch.Count * outPer];
                if (batch.Bad.Length > 0) Array.Fill(rows, float.NaN);
                for (int g = 0; g < batch.GoodItems.Length; g++)
                    output!.Item(g).CopyTo(rows.AsSpan((int)(batch.GoodItems[g] - batch.FirstItem) * outPer, outPer));
                if (Writer is null)
                {
                    Writer = r.Resume && start > 0 ? NpyStreamWriter.OpenForResume(r.OutputPath, _outputShape!) : NpyStreamWriter.Create(r.OutputPath, _outputShape!);
                    stream.OutputPath = Writer.Path;
                }
                Writer.Append(rows);
            }
            // Counted as soon as its rows are on disk: a Ctrl+C while its items are written out still reports them.
            Items += batch.Count;
            Batches++;
            Interlocked.Add(ref stream._itemsDone, batch.Count);
            if (onItem is not null && output is not null) stream.EmitItems(batch, output, source, onItem);
        }
    }

    private string _coreSplitNote = "";

    /// <summary>How the cores were divided between decoding and CPU inference, and why (set by <see cref="Run"/>).</summary>
    public string CoreSplitNote { get; private set; } = "";

    /// <summary>
    /// CPU only: the cores decoding takes from inference, in proportion to the measured costs. A decode costs d
    /// core-ms per item (timed here on a few items); inference costs c core-ms per item (the perf table's whole-CPU
    /// row nearest the batch size, times its threads). Decoding gets round(cores·d/(d+c)) cores from the CPU unit's
    /// thread budget and ceil(cores·d/(d+c)) workers: a cheap decode runs beside all inference threads instead of
    /// idling a whole core. Without a table row for the model, one worker decodes beside all inference threads.
    /// </summary>
    private (int Workers, int Reserved) SplitCores(DatasetSource source, ModelInfo model, IReadOnlyList<ComputeUnit> units, int[] itemShape,
        int cores, DatasetRequest r, CancellationToken cancellationToken)
    {
        int sample = (int)Math.Min(9, source.Count);
        var scratch = new float[itemShape.Aggregate(1, (a, b) => a * b)];
        double decodeMs = double.NaN;
        // The first decode pays the decoder's one-time start (native library, JIT): untimed.
        try { if (sample > 1) source.Read(0, scratch, itemShape); } catch (HeteroBatchException) { }
        if (sample > 1)
        {
            var timed = Stopwatch.StartNew();
            int ok = 0;
            for (int i = 1; i < sample; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try { source.Read(i, scratch, itemShape); ok++; } catch (HeteroBatchException) { }
            }
            if (ok > 0) decodeMs = timed.Elapsed.TotalMilliseconds / ok;
        }
        var whole = ThreadBudget.OptionsFor(units, r.BackendOptions);
        var cpu = units.First(u => u.Kind == ComputeUnitKind.Cpu);
        var rows = InferencePipeline.RowsFor(new Table.PerfTableStore(r.PerfTablePath).Read(), model, new[] { cpu }, whole)
            .Where(e => e.Status == Table.PerfStatus.Ok && e.BatchSize > 0).ToList();
        var row = rows.OrderBy(e => Math.Abs(e.BatchSize - r.BatchSize)).ThenByDescending(e => e.BatchSize).FirstOrDefault();
        if (row is null || !double.IsFinite(decodeMs))
        {
            // Nothing to weigh yet: one worker decodes beside every inference thread; this run profiles the whole CPU,
            // so the next run divides the cores by measurement.
            _coreSplitNote = $"1 decode worker beside {cores} inference thread(s) (no measured inference cost of '{model.Name}' on the whole CPU yet)";
            return (1, 0);
        }
        double inferCoreMs = row.MsPerItem * Math.Max(1, whole[cpu.Id].IntraOpThreads);
        double share = decodeMs / (decodeMs + inferCoreMs);
        int reserved = Math.Clamp((int)Math.Round(cores * share), 0, cores - 1);
        int workers = Math.Clamp((int)Math.Ceiling(cores * share), 1, cores);
        _coreSplitNote = $"decode {decodeMs:0.0} core-ms/item, inference {inferCoreMs:0.0} core-ms/item: decoding needs {share * 100:0}% of {cores} cores, " +
                         $"so {workers} decode worker(s) and {cores - reserved} inference thread(s)";
        return (workers, reserved);
    }

    private void EmitItems(DecodedBatch batch, BatchOutput output, DatasetSource source, Action<DatasetItemResult> onItem)
    {
        var top = _request.Top > 0 && output.IsClassifier ? output.TopK(_request.Top) : null;
        int k = top is null ? 0 : top.Count / Math.Max(1, output.Count);
        for (int g = 0; g < batch.GoodItems.Length; g++)
        {
            long index = batch.GoodItems[g];
            var item = new DatasetItemResult { Index = index, Path = source.SourceOf(index), Output = _request.IncludeOutput ? output.Item(g).ToArray() : null };
            if (top is not null)
            {
                var mine = Enumerable.Range(g * k, k).Select(i => top[i]).ToArray();
                item = item with
                {
                    Class = mine[0].ClassIndex, Score = mine[0].Score,
                    TopClasses = string.Join(" ", mine.Select(p => p.ClassIndex.ToString(CultureInfo.InvariantCulture))),
                    TopScores = string.Join(" ", mine.Select(p => p.Score.ToString("0.####", CultureInfo.InvariantCulture))),
                };
            }
            onItem(item);
        }
    }

    /// <summary>Decodes the batches from <paramref name="start"/> on, in order, into the pool's buffers (waiting while all
    /// are out), handing each to <paramref name="deliver"/>; <paramref name="complete"/> hears the end (with the error, if any).</summary>
    /// <summary>
    /// The producer lives for the whole stream and blocks on the buffer pool, so it gets a thread of its own:
    /// on the thread pool it would hold a pool thread that Parallel.For's decode workers and timers then wait for.
    /// </summary>
    private static Task StartProducer(Action produce) =>
        Task.Factory.StartNew(produce, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static void Produce(DatasetSource source, long start, int batchSize, int perItem, int[] itemShape, int workers,
        StreamBufferPool pool, Action<DecodedBatch> deliver, Action<Exception?> complete, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            for (long first = start; first < source.Count; first += batchSize)
            {
                int count = (int)Math.Min(batchSize, source.Count - first);
                var buffer = pool.Rent(cancellationToken);
                try
                {
                    deliver(Decode(source, first, count, perItem, itemShape, workers, buffer, cancellationToken));
                }
                catch
                {
                    pool.Return(buffer);
                    throw;
                }
            }
        }
        catch (Exception e) { failure = e; }
        finally { complete(failure); }
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    private static DecodedBatch Decode(DatasetSource source, long first, int count, int perItem, int[] itemShape, int workers,
        float[] buffer, CancellationToken cancellationToken)
    {
        if (!source.IsImages)
        {
            var t = Stopwatch.GetTimestamp();
            source.ReadNpyItems(first, count, buffer.AsSpan(0, count * perItem));
            return new DecodedBatch(first, count, buffer, Enumerable.Range(0, count).Select(i => first + i).ToArray(), Array.Empty<DatasetBadItem>(),
                Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
        var errors = new HeteroBatchException?[count];
        var ticks = new long[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken }, i =>
        {
            long t0 = Stopwatch.GetTimestamp();
            try { source.Read(first + i, buffer.AsSpan(i * perItem, perItem), itemShape); }
            catch (HeteroBatchException e) { errors[i] = e; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or OutOfMemoryException or ArgumentException)
            {
                errors[i] = new HeteroBatchException(ExecutionErrorIds.InputReadFailed, ErrorKind.ReadError,
                    $"Could not read '{source.SourceOf(first + i)}': {e.Message} Remove or replace the file.", source.SourceOf(first + i), e);
            }
            ticks[i] = Stopwatch.GetTimestamp() - t0;
        });
        var good = new List<long>(count);
        var bad = new List<DatasetBadItem>();
        for (int i = 0; i < count; i++)
        {
            if (errors[i] is { } e)
            {
                bad.Add(new DatasetBadItem { Index = first + i, Path = source.SourceOf(first + i), ErrorId = e.ErrorId, Message = e.Message });
                continue;
            }
            // Pack the good items from the buffer's start, keeping their order.
            if (good.Count != i) buffer.AsSpan(i * perItem, perItem).CopyTo(buffer.AsSpan(good.Count * perItem, perItem));
            good.Add(first + i);
        }
        return new DecodedBatch(first, count, buffer, good.ToArray(), bad.ToArray(), ticks.Sum() * 1000.0 / Stopwatch.Frequency);
    }

    private static HeteroBatchException Setting(string message, object? target) =>
        new(StreamingErrorIds.InvalidStreamSetting, ErrorKind.InvalidArgument, message, target);
}
