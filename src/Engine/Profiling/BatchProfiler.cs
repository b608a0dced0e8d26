using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Profiling;

/// <summary>
/// Measures a model's inference time per batch size on compute units (Measure-BatchProfile's engine).
/// Units are profiled one after another (running them together would disturb the numbers). Per unit:
/// the grid in ascending order, stopping at the unit's memory limit (an OutOfMemory row) or at a run
/// over the time budget (a TooSlow row); then, optionally, refinement where the curve bends. Rows are
/// yielded as they are measured so a caller can store or print each at once.
/// </summary>
public sealed class BatchProfiler
{
    private readonly Func<ModelInfo, ComputeUnit, BackendOptions, IInferenceSession> _openSession;
    private readonly bool _disposeSessions;
    // Whether the session of (model, unit, options) is open before the profiler asks for it: only a session the
    // profiler opens itself tells what a cold call pays (OpenMs); null: cannot tell, so the setup costs stay unknown.
    private readonly Func<ModelInfo, ComputeUnit, BackendOptions, bool>? _isOpen;

    /// <summary>A profiler on the process-wide shared sessions of <see cref="BackendRegistry.Default"/>
    /// (profiling also warms them for the runs that follow).</summary>
    public BatchProfiler() : this(BackendRegistry.Default)
    {
    }

    /// <summary>A profiler on the shared sessions of <paramref name="registry"/>.</summary>
    public BatchProfiler(BackendRegistry registry)
        : this((registry ?? throw new ArgumentNullException(nameof(registry))).OpenSession, disposeSessions: false,
            (m, u, o) => registry.Cache.IsOpen(m, u, o))
    {
    }

    /// <summary>A profiler that opens sessions through <paramref name="openSession"/>; when
    /// <paramref name="disposeSessions"/> it disposes each after its unit is done.</summary>
    public BatchProfiler(Func<ModelInfo, ComputeUnit, BackendOptions, IInferenceSession> openSession, bool disposeSessions)
        : this(openSession, disposeSessions, disposeSessions ? (_, _, _) => false : null)
    {
    }

    /// <summary>As the public constructor; <paramref name="isOpen"/> says whether a session is already open before the
    /// profiler opens it (null: cannot tell; the rows' setup costs are then unknown).</summary>
    internal BatchProfiler(Func<ModelInfo, ComputeUnit, BackendOptions, IInferenceSession> openSession, bool disposeSessions,
        Func<ModelInfo, ComputeUnit, BackendOptions, bool>? isOpen)
    {
        _openSession = openSession ?? throw new ArgumentNullException(nameof(openSession));
        _disposeSessions = disposeSessions;
        _isOpen = isOpen;
    }

    /// <summary>
    /// Profiles <paramref name="model"/> on <paramref name="units"/>. Arguments are checked at once
    /// (<c>InvalidBatchSize</c>, <c>UnitUnavailable</c>, <c>InvalidProfileOptions</c>); the measuring
    /// happens as the result is enumerated. Cancellation is honoured between runs
    /// (OperationCanceledException); rows already yielded stay valid.
    /// </summary>
    public IEnumerable<PerfEntry> Profile(ModelInfo model, IEnumerable<ComputeUnit> units, ProfileOptions? options = null,
        IProgress<ProfileProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(units);
        options ??= new ProfileOptions();
        var unitList = units.ToArray();
        var grid = PlanGrid(model, options);
        Validate(model, unitList, options);
        return ProfileCore(model, unitList, options, grid, progress, cancellationToken);
    }

    /// <summary>Profiles one unit; see <see cref="Profile(ModelInfo, IEnumerable{ComputeUnit}, ProfileOptions?, IProgress{ProfileProgress}?, CancellationToken)"/>.</summary>
    public IEnumerable<PerfEntry> Profile(ModelInfo model, ComputeUnit unit, ProfileOptions? options = null,
        IProgress<ProfileProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Profile(model, new[] { unit ?? throw new ArgumentNullException(nameof(unit)) }, options, progress, cancellationToken);

    /// <summary>The batch sizes the grid phase measures (ascending, distinct).</summary>
    public static IReadOnlyList<int> PlanGrid(ModelInfo model, ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSizes is { } explicitSizes)
        {
            if (explicitSizes.Count == 0)
                throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument, "The list of batch sizes is empty; give at least one size of 1 or more.", explicitSizes);
            foreach (var b in explicitSizes)
            {
                if (b <= 0)
                    throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                        $"Batch size {b} is not valid: batch sizes must be 1 or more.", b);
                if (model.MaxBatchSize is { } cap && b > cap)
                    throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                        $"Batch size {b} is larger than model '{model.Name}' accepts ({cap}).", b);
            }
            return explicitSizes.Distinct().Order().ToArray();
        }
        if (options.MaxBatchSize <= 0)
            throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"The largest batch size must be 1 or more (got {options.MaxBatchSize}).", options.MaxBatchSize);
        int max = model.MaxBatchSize is { } modelCap ? Math.Min(modelCap, options.MaxBatchSize) : options.MaxBatchSize;
        return ProfileOptions.BuildGrid(max);
    }

    private static void Validate(ModelInfo model, ComputeUnit[] units, ProfileOptions o)
    {
        HeteroBatchException Bad(string message, object? target) => new(ProfilingErrorIds.InvalidProfileOptions, ErrorKind.InvalidArgument, message, target);
        if (units.Length == 0) throw Bad("No compute unit to profile; give at least one unit (see Get-ComputeUnit).", null);
        foreach (var u in units)
        {
            if (u is null) throw Bad("A compute unit in the list is null.", null);
            if (!u.Available)
                throw new HeteroBatchException(ProfilingErrorIds.UnitUnavailable, ErrorKind.ResourceUnavailable,
                    $"Unit '{u.Id}' ({u.Name}) cannot be used: {u.Reason ?? "it is not available"}", u.Id);
        }
        var duplicate = units.GroupBy(u => u.Id, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw Bad($"Unit '{duplicate.Key}' is listed more than once.", duplicate.Key);
        if (o.WarmupRuns < 0) throw Bad($"WarmupRuns must be 0 or more (got {o.WarmupRuns}).", o.WarmupRuns);
        if (o.MaxWarmupRuns < 0) throw Bad($"MaxWarmupRuns must be 0 or more (got {o.MaxWarmupRuns}).", o.MaxWarmupRuns);
        if (!(o.StableTolerance > 0)) throw Bad($"StableTolerance must be above 0 (got {o.StableTolerance}).", o.StableTolerance);
        if (o.Repeats < 1) throw Bad($"Repeats must be 1 or more (got {o.Repeats}).", o.Repeats);
        if (!(o.MaxSecondsPerRun > 0)) throw Bad($"MaxSecondsPerRun must be above 0 (got {o.MaxSecondsPerRun}).", o.MaxSecondsPerRun);
        if (!(o.MaxSecondsPerPoint > 0)) throw Bad($"MaxSecondsPerPoint must be above 0 (got {o.MaxSecondsPerPoint}).", o.MaxSecondsPerPoint);
        if (!(o.RefineTolerance > 0)) throw Bad($"RefineTolerance must be above 0 (got {o.RefineTolerance}).", o.RefineTolerance);
        if (o.MaxRefinePoints < 0) throw Bad($"MaxRefinePoints must be 0 or more (got {o.MaxRefinePoints}).", o.MaxRefinePoints);
        if (!(o.MinRefineDeltaMs >= 0)) throw Bad($"MinRefineDeltaMs must be 0 or more (got {o.MinRefineDeltaMs}).", o.MinRefineDeltaMs);
        if (o.BackendOptions is null) throw Bad("BackendOptions is null; use BackendOptions.Default.", null);
        if (model.InputItemShape.Length == 0 || model.InputItemShape.Any(d => d <= 0) || model.OutputItemShape.Any(d => d <= 0))
            throw new HeteroBatchException(ProfilingErrorIds.UnsupportedModelShape, ErrorKind.InvalidArgument,
                $"Model '{model.Name}' has an input or output item shape with unknown dimensions ({string.Join("x", model.InputItemShape)} -> {string.Join("x", model.OutputItemShape)}); " +
                "the profiler needs fixed item shapes.", model.Name);
    }

    private IEnumerable<PerfEntry> ProfileCore(ModelInfo model, ComputeUnit[] units, ProfileOptions options, IReadOnlyList<int> grid,
        IProgress<ProfileProgress>? progress, CancellationToken ct)
    {
        int maxBatch = grid[^1];
        // Larger than a last-level cache, so each timed run reads items it has not just read, as a real batch does:
        // a small batch measured over the same hot items again and again looked faster on a CPU than it runs.
        long windowItems = Math.Max(maxBatch, (long)Math.Ceiling((double)MinInputBytes / (model.InputElementsPerItem * sizeof(float))));
        var input = RandomInput(model, (int)Math.Min(windowItems, Math.Max(maxBatch, Array.MaxLength / Math.Max(1, model.InputElementsPerItem))), options.Seed);
        // Pinned batch buffers, as the executor's: a GPU unit copies them by DMA, so the table measures
        // the same I/O path inference takes.
        var output = PinnedArrays.Allocate(checked(maxBatch * model.OutputElementsPerItem));
        var tracker = new ProgressTracker(progress, units.Length * grid.Count);

        foreach (var unit in units)
        {
            ct.ThrowIfCancellationRequested();
            tracker.Report(unit.Id, 0, ProfilePhase.Opening);
            bool fresh = _isOpen is not null && !_isOpen(model, unit, options.BackendOptions);
            long opening = Stopwatch.GetTimestamp();
            var session = _openSession(model, unit, options.BackendOptions);
            double openMs = Stopwatch.GetElapsedTime(opening).TotalMilliseconds;
            try
            {
                var runner = new PointRunner(session, input, output, model, options, ct, fresh ? openMs : null);
                var measured = new List<(int BatchSize, double TotalMs)>();
                bool stopped = false;
                int gridIndex = 0;
                for (; gridIndex < grid.Count && !stopped; gridIndex++)
                {
                    int b = grid[gridIndex];
                    tracker.Report(unit.Id, b, ProfilePhase.Grid);
                    var point = runner.Measure(b);
                    tracker.PointDone();
                    yield return MakeEntry(model, unit, options, b, point, runner.OpenMs);
                    if (point.Status == PerfStatus.Ok) measured.Add((b, point.ExecMs + point.IoMs));
                    else stopped = true;
                }
                tracker.Skip(grid.Count - gridIndex);

                if (options.Refine && options.MaxRefinePoints > 0 && measured.Count >= 2)
                {
                    var refiner = new CurveRefiner(measured, options.RefineTolerance, options.MinRefineDeltaMs, options.MaxRefinePoints);
                    while (refiner.TryNext(out var b))
                    {
                        tracker.Grow(1);
                        tracker.Report(unit.Id, b, ProfilePhase.Refining);
                        var point = runner.Measure(b);
                        tracker.PointDone();
                        if (point.Status != PerfStatus.Ok)
                        {
                            // The unit failed inside the range it ran before: record it, and stop refining.
                            refiner.Abandon();
                            yield return MakeEntry(model, unit, options, b, point, runner.OpenMs);
                            break;
                        }
                        if (refiner.Report(point.ExecMs + point.IoMs, point.SpreadMs))
                            yield return MakeEntry(model, unit, options, b, point, runner.OpenMs);
                    }
                }
                tracker.Report(unit.Id, 0, ProfilePhase.Completed);
            }
            finally
            {
                if (_disposeSessions) session.Dispose();
            }
        }
    }

    private static PerfEntry MakeEntry(ModelInfo model, ComputeUnit unit, ProfileOptions options, int batchSize, PointResult p, double? openMs) => new()
    {
        Model = model.Name,
        ModelHash = model.Hash,
        MachineName = unit.MachineName,
        Unit = unit.Id,
        DeviceName = unit.Name,
        Backend = unit.Backend,
        BackendOptions = options.BackendOptions.Key,
        BatchSize = batchSize,
        ExecMs = p.ExecMs,
        IoMs = p.IoMs,
        HostToDeviceMs = p.HostToDeviceMs,
        DeviceToHostMs = p.DeviceToHostMs,
        Repeats = p.Repeats,
        SpreadMs = p.SpreadMs,
        Status = p.Status,
        Timestamp = DateTimeOffset.UtcNow,
        OpenMs = openMs,
        WarmUpMs = p.WarmUpMs,
    };

    /// <summary>Bytes of input the profiler cycles through (64 MB): more than a CPU's last-level cache.</summary>
    internal const long MinInputBytes = 64L << 20;

    /// <summary>Seeded uniform floats in [0, 1) for <paramref name="maxBatch"/> items; slices of it feed smaller batches.</summary>
    internal static float[] RandomInput(ModelInfo model, int maxBatch, int seed)
    {
        long count = (long)maxBatch * model.InputElementsPerItem;
        if (count > Array.MaxLength)
            throw new HeteroBatchException(Errors.BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"A batch of {maxBatch} items of model '{model.Name}' needs {count} input values, more than one buffer can hold; lower the largest batch size.", maxBatch);
        var random = new Random(seed);
        var data = PinnedArrays.Allocate((int)count);
        for (long i = 0; i < count; i++) data[i] = random.NextSingle();
        return data;
    }

    internal readonly record struct PointResult(string Status, double ExecMs, double IoMs, int Repeats, double SpreadMs)
    {
        public double HostToDeviceMs { get; init; }
        public double DeviceToHostMs { get; init; }
        /// <summary>The size's one-time cost on the open session (see <see cref="PerfEntry.WarmUpMs"/>); null: unknown.</summary>
        public double? WarmUpMs { get; init; }
    }

    /// <summary>Warm-up and timed runs of one batch size on one session.</summary>
    private sealed class PointRunner
    {
        private readonly IInferenceSession _session;
        private readonly float[] _input;
        private readonly float[] _output;
        private readonly ModelInfo _model;
        private readonly ProfileOptions _options;
        private readonly CancellationToken _ct;
        private bool _sessionWarm;
        private bool _firstAtSize;
        private bool _warmedOnce;

        // openMs: the time the profiler took to open the session, when it opened it (cold); null when it was open already.
        public PointRunner(IInferenceSession session, float[] input, float[] output, ModelInfo model, ProfileOptions options, CancellationToken ct, double? openMs)
        {
            OpenMs = openMs;
            _session = session;
            _input = input;
            _output = output;
            _model = model;
            _options = options;
            _ct = ct;
        }

        /// <summary>
        /// The session's one-time cost as a cold call pays it: opening it, plus its first warm-up (the session-wide
        /// part of a first run: a CPU's allocations, a GPU's library handles), which any cold call pays whatever sizes it
        /// runs. Null when the session was open before the profiler came (its cost was paid unseen).
        /// </summary>
        public double? OpenMs { get; private set; }

        public PointResult Measure(int batchSize)
        {
            int itemsInBuffer = _input.Length / _model.InputElementsPerItem;
            int windows = Math.Max(1, itemsInBuffer / batchSize);
            int window = 0;
            // Each run takes the next window of the input buffer, so no run reads items a run before it left in cache.
            ReadOnlyMemory<float> NextInput() => new(_input, (window++ % windows) * batchSize * _model.InputElementsPerItem, batchSize * _model.InputElementsPerItem);
            var outputSlice = new Memory<float>(_output, 0, batchSize * _model.OutputElementsPerItem);
            double budgetSeconds = _options.MaxSecondsPerRun;
            var timings = new List<RunTiming>();
            double lastSeconds = 0;
            double? warmUpMs = null;

            try
            {
                // A size's one-time setup (a GPU's algorithm search and graph capture) is not its run time:
                // it is paid here, outside the timed runs and exempt from the budget, as the executor pays it before
                // a run. It is timed for the table's setup costs, which the planner weighs against what a cold unit saves: the
                // executor pays the same WarmUp before its clock. The first warm-up of a session the profiler opened
                // counts to OpenMs; later ones are the size's own (WarmUpMs). A size already warm costs nothing more
                // on a session opened here (0), and is unknown on one opened before (null).
                warmUpMs = _session is IWarmableSession ? (OpenMs.HasValue ? 0 : null) : 0;
                if (_session is IWarmableSession warm && !warm.IsWarm(batchSize))
                {
                    long warming = Stopwatch.GetTimestamp();
                    warm.WarmUp(batchSize, _ct);
                    double ms = Stopwatch.GetElapsedTime(warming).TotalMilliseconds;
                    if (OpenMs.HasValue && !_warmedOnce) { OpenMs += ms; warmUpMs = 0; }
                    else warmUpMs = ms;
                    _warmedOnce = true;
                }
                _firstAtSize = true;
                double previous = double.NaN;
                int warmups = 0;
                // Warm until two runs in a row agree within StableTolerance (or MaxWarmupRuns is reached), so
                // the timed runs measure the steady state.
                while (warmups < _options.WarmupRuns
                       || (_options.WarmupRuns > 0 && warmups < _options.MaxWarmupRuns && !(Math.Abs(lastSeconds - previous) <= _options.StableTolerance * Math.Max(lastSeconds, previous))))
                {
                    previous = lastSeconds > 0 ? lastSeconds : double.NaN;
                    var (timing, seconds, overBudget) = RunOnce(NextInput(), outputSlice, batchSize, budgetSeconds);
                    lastSeconds = seconds;
                    warmups++;
                    if (overBudget) return new PointResult(PerfStatus.TooSlow, timing.ExecMs, timing.IoMs, 1, 0) { WarmUpMs = warmUpMs };
                    // A slow size gets its minimum warm-ups only: more would cost more than the noise they remove.
                    if (seconds * (warmups + 1) > _options.MaxSecondsPerPoint) break;
                }

                int repeats = _options.Repeats;
                if (lastSeconds > 0 && lastSeconds * repeats > _options.MaxSecondsPerPoint)
                    repeats = Math.Clamp((int)(_options.MaxSecondsPerPoint / lastSeconds), 1, repeats);
                for (int i = 0; i < repeats; i++)
                {
                    var (timing, _, overBudget) = RunOnce(NextInput(), outputSlice, batchSize, budgetSeconds);
                    if (overBudget) return new PointResult(PerfStatus.TooSlow, timing.ExecMs, timing.IoMs, 1, 0) { WarmUpMs = warmUpMs };
                    timings.Add(timing);
                }
            }
            catch (HeteroBatchException ex) when (ex.ErrorId == Backends.BackendErrorIds.UnitOutOfMemory)
            {
                // The unit's memory limit: a result, not an error. No time is recorded for it.
                return new PointResult(PerfStatus.OutOfMemory, 0, 0, 0, 0);
            }

            // The mean, not the median: a plan runs a size k times back to back and takes k times the mean. With the
            // run-to-run noise of a busy CPU the median of 5 runs predicted chunked CPU shares 20-30 % short.
            return new PointResult(
                PerfStatus.Ok,
                timings.Average(t => t.ExecMs),
                timings.Average(t => t.IoMs),
                timings.Count,
                InterquartileRange(timings.Select(t => t.TotalMs)))
            {
                HostToDeviceMs = timings.Average(t => t.HostToDeviceMs),
                DeviceToHostMs = timings.Average(t => t.DeviceToHostMs),
                WarmUpMs = warmUpMs,
            };
        }

        private (RunTiming Timing, double Seconds, bool OverBudget) RunOnce(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, double budgetSeconds)
        {
            _ct.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var timing = _session.Run(input, output, batchSize, _ct);
            double seconds = clock.Elapsed.TotalSeconds;
            // The session's first run, and the first at each size, pay one-time costs: never TooSlow for those.
            bool exempt = !_sessionWarm || _firstAtSize;
            _sessionWarm = true;
            _firstAtSize = false;
            timing = new RunTiming(Math.Max(0, timing.ExecMs), Math.Max(0, timing.IoMs))
            {
                HostToDeviceMs = Math.Max(0, timing.HostToDeviceMs),
                DeviceToHostMs = Math.Max(0, timing.DeviceToHostMs),
            };
            return (timing, seconds, !exempt && seconds > budgetSeconds);
        }
    }

    internal static double Median(IEnumerable<double> values) => Quantile(values.Order().ToArray(), 0.5);

    internal static double InterquartileRange(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length < 2 ? 0 : Quantile(sorted, 0.75) - Quantile(sorted, 0.25);
    }

    // Linear interpolation between order statistics (the common "type 7" definition).
    private static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return 0;
        double pos = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    private sealed class ProgressTracker
    {
        private readonly IProgress<ProfileProgress>? _progress;
        private int _done;
        private int _total;

        public ProgressTracker(IProgress<ProfileProgress>? progress, int total)
        {
            _progress = progress;
            _total = total;
        }

        public void PointDone() => _done++;
        public void Grow(int points) => _total += points;
        public void Skip(int points) => _total -= points;

        public void Report(string unit, int batchSize, ProfilePhase phase) =>
            _progress?.Report(new ProfileProgress { Unit = unit, BatchSize = batchSize, Phase = phase, PointsDone = _done, PointsTotal = _total });
    }
}
