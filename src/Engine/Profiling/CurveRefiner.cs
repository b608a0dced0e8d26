namespace HeteroBatch.Engine.Profiling;

/// <summary>
/// Decides where the cost curve needs more points: for each gap between measured neighbours it proposes
/// the midpoint; a midpoint whose measured total differs from the linear interpolation of its neighbours
/// by more than the tolerance (relative) and more than the noise (its spread, and an absolute floor) is
/// kept and both halves are examined in turn. At most <c>maxExtra</c> midpoints are measured.
/// Free of sessions so its decisions can be tested on a synthetic cost function.
/// </summary>
internal sealed class CurveRefiner
{
    private readonly SortedDictionary<int, double> _totals = new();
    private readonly Queue<(int Low, int High)> _gaps = new();
    private readonly double _tolerance;
    private readonly double _minDeltaMs;
    private int _budget;
    private (int Low, int Mid, int High)? _pending;

    public CurveRefiner(IEnumerable<(int BatchSize, double TotalMs)> measured, double tolerance, double minDeltaMs, int maxExtra)
    {
        foreach (var (b, t) in measured) _totals[b] = t;
        _tolerance = tolerance;
        _minDeltaMs = minDeltaMs;
        _budget = maxExtra;
        var sizes = _totals.Keys.ToArray();
        // Widest gaps first: that is where interpolation has the most room to be wrong.
        foreach (var gap in sizes.Zip(sizes.Skip(1)).OrderByDescending(g => g.Second - g.First).ThenBy(g => g.First))
            _gaps.Enqueue(gap);
    }

    /// <summary>Points kept so far, ascending.</summary>
    public List<int> Kept { get; } = new();

    /// <summary>Next batch size to measure, or false when done (no gap left, or the budget is spent).</summary>
    public bool TryNext(out int batchSize)
    {
        if (_pending is not null) throw new InvalidOperationException("Report the pending midpoint first.");
        while (_budget > 0 && _gaps.Count > 0)
        {
            var (low, high) = _gaps.Dequeue();
            if (high - low < 2) continue;
            int mid = low + (high - low) / 2;
            _pending = (low, mid, high);
            _budget--;
            batchSize = mid;
            return true;
        }
        batchSize = 0;
        return false;
    }

    /// <summary>The interpolated total at the pending midpoint.</summary>
    public double Interpolated
    {
        get
        {
            var (low, mid, high) = _pending ?? throw new InvalidOperationException("No midpoint pending.");
            double tl = _totals[low], th = _totals[high];
            return tl + (th - tl) * (mid - low) / (high - low);
        }
    }

    /// <summary>Records the pending midpoint's measurement; returns whether it is kept.</summary>
    public bool Report(double totalMs, double spreadMs)
    {
        var (low, mid, high) = _pending ?? throw new InvalidOperationException("No midpoint pending.");
        double deviation = Math.Abs(totalMs - Interpolated);
        _pending = null;
        bool bends = totalMs > 0 && deviation / totalMs > _tolerance && deviation > Math.Max(_minDeltaMs, spreadMs);
        if (!bends) return false;
        _totals[mid] = totalMs;
        Kept.Add(mid);
        Kept.Sort();
        _gaps.Enqueue((low, mid));
        _gaps.Enqueue((mid, high));
        return true;
    }

    /// <summary>Gives up the pending midpoint (its run failed); refinement of that gap stops.</summary>
    public void Abandon() => _pending = null;

    /// <summary>Runs refinement to the end against <paramref name="cost"/>; returns (kept, measured) sizes.</summary>
    public static (IReadOnlyList<int> Kept, IReadOnlyList<int> Measured) Run(
        IEnumerable<int> grid, Func<int, double> cost, double tolerance, double minDeltaMs, int maxExtra)
    {
        var refiner = new CurveRefiner(grid.Select(b => (b, cost(b))), tolerance, minDeltaMs, maxExtra);
        var measured = new List<int>();
        while (refiner.TryNext(out var b))
        {
            measured.Add(b);
            refiner.Report(cost(b), 0);
        }
        return (refiner.Kept, measured);
    }
}
