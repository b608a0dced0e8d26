using System.Globalization;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Planning;

/// <summary>One measured point of a unit: its total time (exec + I/O) for one batch size, and the part of it (the
/// copy in) that a chunk pipeline hides behind the previous chunk's compute (0 for units that do not pipeline).</summary>
public readonly record struct MeasuredPoint(int BatchSize, double TotalMs, double OverlapMs = 0);

/// <summary>
/// A compute unit's best predicted time for n items, built from its measured points. This is the cost model of
/// the planner:
/// <list type="bullet">
/// <item><b>One run of exactly b items</b> (<see cref="DirectMs"/>): the measured time when b was measured;
/// between two measured sizes, the per-item time interpolated linearly between them, times b; below the
/// smallest measured size, the smallest size's per-item time times b (the profiler always measures batch 1,
/// so this only matters for imported tables). Sizes above the largest measured size are never run directly.</item>
/// <item><b>Memory limit</b>: a row with status OutOfMemory or TooSlow at size s forbids every size ≥ s;
/// measured sizes at or above the limit are ignored.</item>
/// <item><b>Padding</b>: b items may run as one batch of a larger measured size c (slots filled, computed and
/// dropped) when that is faster: GPU tables are not monotone. Padding to an interpolated size is never better
/// (between two measured sizes the time is concave or increasing), so only measured sizes are tried.</item>
/// <item><b>Measured sizes only</b> (GPU units): a unit whose every new batch size costs a one-time setup (the
/// CUDA session's algorithm search and graph capture per size) runs measured sizes only; an unmeasured size is
/// padded to the next measured one. The measured sizes are the unit's buckets: few, known to the planner, and
/// warmed once per process.</item>
/// <item><b>Chunking</b>: n items may run as a sequence of batches. Every batch but the last is a full batch of
/// a measured size (a size whose time is known, not guessed); the last batch covers the items left, run
/// exactly or padded as above. A unit that pipelines its chunks (a GPU copies chunk k+1 in while chunk k
/// computes) pays the first full chunk's whole time and each later full chunk's time less its copy in
/// (<see cref="MeasuredPoint.OverlapMs"/>): on an H200, 1,000 ResNet-50 items in six chunks ran 6 % under the
/// sum of their measured times, which made a GPU+CPU plan look faster than the GPU alone when it was not. The
/// last run is charged whole: an exact one hides its copy too, but a pipeline step's own cost (event wait, launch)
/// is not measured, and charging it whole keeps one run where splitting would gain less than that.</item>
/// </list>
/// <see cref="Cost"/> is the minimum over all these executions, and <see cref="ExecutedBatchSizes"/> says how to
/// run it: sizes in order, every size but the last is full, the last may exceed the items left (padding).
/// Ties prefer one batch over several and no padding over padding, so padding and chunking appear exactly when
/// they lower the prediction.
/// </summary>
/// <remarks>
/// Times are kept as whole nanoseconds so sums are exact, ties are real ties and the curve is exactly
/// non-decreasing (see MonotoneNs). The best cost for every n is a dynamic programme over the useful chunk sizes; it is computed
/// lazily and stops as soon as it turns periodic: once <c>f(n) = t* + f(n - c*)</c> (c* the size with the lowest
/// per-item time, t* its time) holds for as many consecutive n as the largest batch size, it holds for every
/// larger n (the recurrence then only reads periodic values), so <c>f(n)</c> for any n is O(1) from a table
/// of a few hundred to a few thousand entries. Thread-safe.
/// </remarks>
public sealed class UnitCostCurve : ICostCurve
{
    private const double NsPerMs = 1e6;
    private const long Infinite = long.MaxValue;

    private readonly MeasuredPoint[] _points;
    private readonly long[] _directNs;   // [b]: one run of exactly b items, 1 ≤ b ≤ MaxBatchSize
    private readonly long[] _singleNs;   // [b]: best one run for b items, padding allowed
    private readonly int[] _singleSize;  // [b]: the batch size that run executes
    private readonly int[] _chunkSizes;  // measured sizes worth running as full chunks, descending
    private readonly long[] _chunkNs;    // a full chunk after the first: its time less the copy a pipeline hides
    private readonly long[] _firstNs;    // the first full chunk: its whole time
    private readonly int _bestSize;      // c*: lowest time per item (largest on ties)
    private readonly long _bestNs;       // t*

    private readonly object _gate = new();
    private Snapshot _snapshot;          // published table; entries ≤ Computed never change
    private long[] _f = Array.Empty<long>();
    private int[] _choice = Array.Empty<int>();
    private int _run;

    private sealed record Snapshot(long[] F, int[] Choice, int Computed, int PeriodStart);

    /// <param name="unit">Unit id as the plan should name it.</param>
    /// <param name="points">Status-Ok measurements; batch sizes must be distinct.</param>
    /// <param name="limitBatchSize">Smallest size that failed (OutOfMemory/TooSlow); sizes ≥ it are never run.</param>
    /// <param name="machineName">Machine the unit belongs to.</param>
    /// <param name="limitStatus">Status that set the limit, for explanations.</param>
    /// <param name="measuredSizesOnly">Run measured sizes only (padding the others up): the unit's buckets.</param>
    public UnitCostCurve(string unit, IEnumerable<MeasuredPoint> points, int? limitBatchSize = null, string machineName = "", string? limitStatus = null,
        bool measuredSizesOnly = false)
    {
        MeasuredSizesOnly = measuredSizesOnly;
        ArgumentException.ThrowIfNullOrEmpty(unit);
        ArgumentNullException.ThrowIfNull(points);
        Unit = unit;
        MachineName = machineName ?? "";
        LimitBatchSize = limitBatchSize is > 0 ? limitBatchSize : null;

        var all = points.OrderBy(p => p.BatchSize).ToArray();
        for (int i = 0; i < all.Length; i++)
        {
            var p = all[i];
            if (p.BatchSize <= 0 || !double.IsFinite(p.TotalMs) || p.TotalMs <= 0)
                throw new HeteroBatchException(PlanningErrorIds.InvalidProfile, ErrorKind.InvalidData,
                    $"Unit '{unit}' has an unusable measurement: batch size {p.BatchSize}, {p.TotalMs.ToString(CultureInfo.InvariantCulture)} ms. " +
                    "Batch sizes must be ≥ 1 and times positive; measure the unit again with Measure-BatchProfile.", unit);
            if (i > 0 && all[i - 1].BatchSize == p.BatchSize)
                throw new HeteroBatchException(PlanningErrorIds.InvalidProfile, ErrorKind.InvalidData,
                    $"Unit '{unit}' has two measurements of batch size {p.BatchSize}; keep one.", unit);
        }
        _points = LimitBatchSize is int limit ? all.Where(p => p.BatchSize < limit).ToArray() : all;

        if (_points.Length == 0)
        {
            UnusableReason = LimitBatchSize is int l
                ? $"cannot run the model: {limitStatus ?? "limit"} at batch size {l} and no smaller size was measured"
                : "no measured batch size";
            _directNs = _singleNs = _chunkNs = _firstNs = Array.Empty<long>();
            _singleSize = _chunkSizes = Array.Empty<int>();
            _snapshot = new Snapshot(new long[1], new int[1], 0, -1);
            return;
        }

        MaxBatchSize = _points[^1].BatchSize;
        _directNs = BuildDirect(_points, MaxBatchSize, measuredSizesOnly);
        (_singleNs, _singleSize) = BuildSingle(_points, _directNs, MaxBatchSize);


        // A measured size is worth a full chunk only if no larger measured size is at least as fast.
        var chunks = new List<(int Size, long Ns, long FirstNs)>();
        long bestAbove = Infinite;
        for (int i = _points.Length - 1; i >= 0; i--)
        {
            long first = _directNs[_points[i].BatchSize];
            long ns = Math.Max(1, first - OverlapNs(_points[i]));
            if (ns < bestAbove) { chunks.Add((_points[i].BatchSize, ns, first)); bestAbove = ns; }
        }
        _chunkSizes = chunks.Select(c => c.Size).ToArray();
        _chunkNs = chunks.Select(c => c.Ns).ToArray();
        _firstNs = chunks.Select(c => c.FirstNs).ToArray();

        // c*: lowest ns per item, compared exactly; descending order makes ties keep the larger size.
        _bestSize = _chunkSizes[0];
        _bestNs = _chunkNs[0];
        for (int i = 1; i < _chunkSizes.Length; i++)
            if ((Int128)_chunkNs[i] * _bestSize < (Int128)_bestNs * _chunkSizes[i]) { _bestSize = _chunkSizes[i]; _bestNs = _chunkNs[i]; }

        _f = new long[Math.Min(MaxBatchSize * 4 + 64, 1 << 16)];
        _choice = new int[_f.Length];
        _snapshot = new Snapshot(_f, _choice, 0, -1);
    }

    /// <summary>Unit id.</summary>
    public string Unit { get; }
    /// <summary>True when the unit runs measured batch sizes only (its buckets), padding the sizes between them.</summary>
    public bool MeasuredSizesOnly { get; }
    /// <summary>Machine of the unit (from the table); empty when unknown.</summary>
    public string MachineName { get; }
    /// <inheritdoc/>
    public string Name => Unit;
    /// <summary>The measurements the curve uses (below the limit), ascending by batch size.</summary>
    public IReadOnlyList<MeasuredPoint> Points => _points;
    /// <summary>Smallest forbidden batch size (memory or time limit); null when none was recorded.</summary>
    public int? LimitBatchSize { get; }
    /// <summary>Largest batch size the unit runs (its largest usable measured size); 0 when unusable.</summary>
    public int MaxBatchSize { get; }
    /// <summary>The measured size with the lowest time per item: the chunk size of large shares.</summary>
    public int BestBatchSize => _bestSize;
    /// <summary>False when the unit cannot run the model at all; see <see cref="UnusableReason"/>.</summary>
    public bool IsUsable => _points.Length > 0;
    /// <summary>Why the unit cannot run the model; null when usable.</summary>
    public string? UnusableReason { get; }
    /// <inheritdoc/>
    public double MinMsPerItem => IsUsable ? _bestNs / NsPerMs / _bestSize : double.PositiveInfinity;

    /// <summary>Predicted time of one run of exactly <paramref name="batchSize"/> items; +∞ when the unit cannot
    /// run that size in one batch.</summary>
    public double DirectMs(int batchSize) =>
        batchSize >= 1 && batchSize <= MaxBatchSize && _directNs[batchSize] != Infinite ? _directNs[batchSize] / NsPerMs : double.PositiveInfinity;

    /// <summary>Best predicted time of one run holding <paramref name="items"/> items (padding allowed); +∞ above
    /// <see cref="MaxBatchSize"/>.</summary>
    public double SingleRunMs(int items) =>
        items >= 1 && items <= MaxBatchSize ? _singleNs[items] / NsPerMs : double.PositiveInfinity;

    /// <summary>The batch size of the best single run for <paramref name="items"/> items (≥ items; larger means padding).</summary>
    public int SingleRunBatchSize(int items) =>
        items >= 1 && items <= MaxBatchSize ? _singleSize[items] : throw new ArgumentOutOfRangeException(nameof(items));

    /// <inheritdoc/>
    public double Cost(int items)
    {
        long ns = CostNs(items);
        return ns == Infinite ? double.PositiveInfinity : ns / NsPerMs;
    }

    /// <summary><see cref="Cost"/> in whole nanoseconds; <see cref="long.MaxValue"/> when impossible.</summary>
    public long CostNs(int items)
    {
        if (items <= 0)
        {
            if (items < 0) throw new ArgumentOutOfRangeException(nameof(items), items, "Item count must be ≥ 0.");
            return 0;
        }
        if (!IsUsable) return Infinite;
        return MonotoneNs(items);
    }

    private readonly object _monotoneGate = new();
    private long[] _monotone = new long[1];   // [n]: max over m ≤ n of First(m); [0] = 0
    private int _monotoneComputed;
    private int _monotoneRun;
    private bool _monotonePeriodic;           // true: past _monotoneComputed, M(n) = M(n − c*) + t*

    /// <summary>
    /// The cost as a non-decreasing curve (the planner's contract): the most that any m ≤ n items take. A pipelined unit
    /// is not monotone by itself (n items that end in a tiny last run can cost less than n − 1 ending in a whole big
    /// one), so the prediction for n is never below one for fewer items: at worst a little above what the plan runs.
    /// Computed until it turns periodic, as the rest table: for n past <c>P + max size</c> (P where the rest turned
    /// periodic) First(n + c*) = First(n) + t*, so once M(n) = M(n − c*) + t* holds for c* consecutive n it holds for all.
    /// </summary>
    private long MonotoneNs(int n)
    {
        lock (_monotoneGate)
        {
            while (n > _monotoneComputed && !_monotonePeriodic)
            {
                int m = ++_monotoneComputed;
                if (m >= _monotone.Length)
                {
                    var grown = new long[(int)Math.Min(Array.MaxLength, Math.Max((long)_monotone.Length * 2, m + 1L))];
                    Array.Copy(_monotone, grown, m);
                    _monotone = grown;
                }
                long raw = First(m).Ns;
                _monotone[m] = Math.Max(raw, _monotone[m - 1]);
                var rest = Volatile.Read(ref _snapshot);
                bool restPeriodic = rest.PeriodStart >= 0 && m - _bestSize >= rest.PeriodStart + MaxBatchSize;
                _monotoneRun = restPeriodic && _monotone[m] != Infinite && _monotone[m] == _monotone[m - _bestSize] + _bestNs ? _monotoneRun + 1 : 0;
                if (_monotoneRun >= _bestSize) _monotonePeriodic = true;
            }
            if (n <= _monotoneComputed) return _monotone[n];
            long periods = (n - _monotoneComputed + _bestSize - 1) / _bestSize;
            int baseIndex = n - (int)(periods * _bestSize);
            if (_monotone[baseIndex] == Infinite || periods > (long.MaxValue / 2 - _monotone[baseIndex]) / _bestNs) return Infinite;
            return _monotone[baseIndex] + periods * _bestNs;
        }
    }

    /// <summary>
    /// The best way to start <paramref name="items"/> items: one run (chunk 0), or a first full chunk at its whole
    /// time followed by the best rest (<see cref="RestNs"/>, later chunks overlapped).
    /// </summary>
    private (long Ns, int Chunk) First(int items)
    {
        long best = items <= MaxBatchSize ? _singleNs[items] : Infinite;
        int chunk = 0;
        for (int k = 0; k < _chunkSizes.Length; k++)
        {
            int c = _chunkSizes[k];
            if (c >= items) continue;
            long rest = RestNs(items - c);
            if (rest == Infinite || rest > long.MaxValue / 2 - _firstNs[k]) continue;
            if (_firstNs[k] + rest < best) { best = _firstNs[k] + rest; chunk = c; }
        }
        return (best, chunk);
    }

    /// <summary>The best time of <paramref name="items"/> items that follow a first full chunk: their full chunks
    /// overlap their copies with the chunk before; the last run is whole.</summary>
    private long RestNs(int items)
    {
        var s = Volatile.Read(ref _snapshot);
        if (items > s.Computed && s.PeriodStart < 0) s = Extend(items);
        if (items <= s.Computed) return s.F[items];
        long periods = (items - s.PeriodStart) / _bestSize;
        int baseIndex = items - (int)(periods * _bestSize);
        if (periods > (long.MaxValue / 2 - s.F[baseIndex]) / _bestNs) return Infinite; // beyond ~100 days
        return s.F[baseIndex] + periods * _bestNs;
    }

    /// <inheritdoc/>
    public int Capacity(double budgetMs, int limit)
    {
        if (limit <= 0 || !(budgetMs >= 0) || !IsUsable) return 0;
        if (double.IsPositiveInfinity(budgetMs)) return limit;
        // Narrow the search with the per-item bounds t*/c*·n ≤ f(n) ≤ t*/c*·n + t*, then bisect on Cost itself
        // so the answer agrees exactly with Cost (rounding may make the bounds a little loose: checked).
        double rate = MinMsPerItem;
        long hi = (long)Math.Min(limit, Math.Floor(budgetMs / rate) + 1);
        long lo = (long)Math.Max(0, Math.Min(hi, Math.Floor((budgetMs - _bestNs / NsPerMs) / rate) - 1));
        if (lo > 0 && !(Cost((int)lo) <= budgetMs)) lo = 0;
        if (Cost((int)hi) <= budgetMs)
        {
            if (hi == limit) return limit;
            lo = hi;
            hi = limit;
            if (Cost(limit) <= budgetMs) return limit;
        }
        while (hi - lo > 1)
        {
            long mid = lo + (hi - lo) / 2;
            if (Cost((int)mid) <= budgetMs) lo = mid; else hi = mid;
        }
        return (int)lo;
    }

    /// <summary>
    /// How to run <paramref name="items"/> items at the cost <see cref="Cost"/> predicts: batch sizes in order;
    /// every size but the last is full, the last may exceed the items left (the excess is padding).
    /// </summary>
    public int[] ExecutedBatchSizes(int items)
    {
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        if (items == 0) return Array.Empty<int>();
        if (!IsUsable) throw new InvalidOperationException($"Unit '{Unit}' cannot run the model: {UnusableReason}.");
        var (_, first) = First(items);
        if (first == 0) return new[] { _singleSize[items] };
        var sizes = new List<int> { first };
        int n = items - first;
        RestNs(n);
        var s = Volatile.Read(ref _snapshot);
        if (n > s.Computed)
        {
            int periods = (n - s.PeriodStart) / _bestSize;
            for (int i = 0; i < periods; i++) sizes.Add(_bestSize);
            n -= periods * _bestSize;
        }
        while (n > 0)
        {
            int chunk = s.Choice[n];
            if (chunk == 0) { sizes.Add(_singleSize[n]); break; }
            sizes.Add(chunk);
            n -= chunk;
        }
        return sizes.ToArray();
    }

    /// <summary>Diagnostics: entries of the best-cost table computed so far, and the item count from which the
    /// table repeats with period <see cref="BestBatchSize"/> (-1 while not found yet).</summary>
    public (int Computed, int PeriodStart) TableExtent
    {
        get { var s = Volatile.Read(ref _snapshot); return (s.Computed, s.PeriodStart); }
    }

    private Snapshot Extend(int target)
    {
        lock (_gate)
        {
            var s = _snapshot;
            int n = s.Computed;
            int periodStart = s.PeriodStart;
            int window = MaxBatchSize;
            while (n < target && periodStart < 0)
            {
                n++;
                if (n >= _f.Length)
                {
                    // Fresh arrays: readers of older snapshots keep theirs, whose entries never change.
                    int size = (int)Math.Min(Array.MaxLength, Math.Max((long)_f.Length * 2, n + 1L));
                    var f = new long[size];
                    var choice = new int[size];
                    Array.Copy(_f, f, n);
                    Array.Copy(_choice, choice, n);
                    _f = f;
                    _choice = choice;
                }
                long best = n <= MaxBatchSize ? _singleNs[n] : Infinite;
                int bestChunk = 0;
                for (int k = 0; k < _chunkSizes.Length; k++)
                {
                    int c = _chunkSizes[k];
                    if (c >= n) continue;
                    long v = _chunkNs[k] + _f[n - c];
                    if (v < best) { best = v; bestChunk = c; }
                }
                _f[n] = best;
                _choice[n] = bestChunk;
                if (n > _bestSize)
                {
                    _run = best == _bestNs + _f[n - _bestSize] ? _run + 1 : 0;
                    if (_run >= window) periodStart = n - window + 1;
                }
            }
            var next = new Snapshot(_f, _choice, n, periodStart);
            Volatile.Write(ref _snapshot, next);
            return next;
        }
    }

    private static long OverlapNs(MeasuredPoint p) =>
        p.OverlapMs > 0 && double.IsFinite(p.OverlapMs) ? (long)Math.Round(Math.Min(p.OverlapMs, p.TotalMs) * NsPerMs) : 0;

    private static long ToNs(double ms) => Math.Max(1, (long)Math.Round(ms * NsPerMs, MidpointRounding.AwayFromZero));

    private static long[] BuildDirect(MeasuredPoint[] points, int max, bool measuredOnly)
    {
        var direct = new long[max + 1];
        if (measuredOnly)
        {
            Array.Fill(direct, Infinite);
            foreach (var p in points) direct[p.BatchSize] = ToNs(p.TotalMs);
            return direct;
        }
        double firstPerItem = points[0].TotalMs / points[0].BatchSize;
        for (int b = 1; b < points[0].BatchSize; b++) direct[b] = ToNs(firstPerItem * b);
        for (int i = 0; i < points.Length; i++)
        {
            var (s0, t0) = (points[i].BatchSize, points[i].TotalMs);
            direct[s0] = ToNs(t0);
            if (i + 1 == points.Length) break;
            var (s1, t1) = (points[i + 1].BatchSize, points[i + 1].TotalMs);
            double p0 = t0 / s0, p1 = t1 / s1;
            for (int b = s0 + 1; b < s1; b++)
                direct[b] = ToNs((p0 + (p1 - p0) * (b - s0) / (s1 - s0)) * b);
        }
        return direct;
    }

    private static (long[] Ns, int[] Size) BuildSingle(MeasuredPoint[] points, long[] direct, int max)
    {
        var ns = new long[max + 1];
        var size = new int[max + 1];
        var measured = new bool[max + 1];
        foreach (var p in points) measured[p.BatchSize] = true;
        long bestMeasured = Infinite;
        int bestMeasuredSize = 0;
        for (int b = max; b >= 1; b--)
        {
            // Exact size unless a larger measured size is strictly faster (ties: no padding).
            if (direct[b] <= bestMeasured) { ns[b] = direct[b]; size[b] = b; }
            else { ns[b] = bestMeasured; size[b] = bestMeasuredSize; }
            if (measured[b] && direct[b] <= bestMeasured) { bestMeasured = direct[b]; bestMeasuredSize = b; }
        }
        return (ns, size);
    }
}
