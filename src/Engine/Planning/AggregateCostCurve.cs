namespace HeteroBatch.Engine.Planning;

/// <summary>
/// A group of workers (a machine's units) seen as one worker: Cost(n) is the makespan of the group's optimal
/// plan for n items. Planning across machines is then the same <see cref="SplitSolver"/> over one aggregate per
/// machine, and each machine's share is split again over its units with <see cref="Split"/>; the two-level
/// result has the same makespan as a flat plan over all units. Wrap an aggregate with
/// <see cref="CostCurves.Delayed"/> to add a fixed transfer or start-up time of the machine.
/// </summary>
/// <remarks>
/// Capacity(T) is exact and cheap: n items fit in T on the group iff Σ Capacity_u(T) ≥ n, so the group's
/// capacity is the sum of its members'. Cost(n) runs the makespan search (tens of microseconds) and caches
/// the last answers. Thread-safe when the members are.
/// </remarks>
public sealed class AggregateCostCurve : ICostCurve
{
    private readonly ICostCurve[] _parts;
    private readonly Dictionary<int, double> _cache = new();
    private readonly object _gate = new();

    public AggregateCostCurve(string name, IEnumerable<ICostCurve> parts)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(parts);
        Name = name;
        _parts = parts.ToArray();
        if (_parts.Length == 0) throw new ArgumentException("An aggregate needs at least one member.", nameof(parts));
        double inverse = 0;
        foreach (var p in _parts)
        {
            double r = p.MinMsPerItem;
            if (double.IsPositiveInfinity(r)) continue;
            if (!(r > 0)) { inverse = double.NaN; break; }
            inverse += 1 / r;
        }
        MinMsPerItem = double.IsNaN(inverse) ? 0 : inverse > 0 ? 1 / inverse : double.PositiveInfinity;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>The members, in the order their items are listed by <see cref="Split"/>.</summary>
    public IReadOnlyList<ICostCurve> Parts => _parts;
    /// <inheritdoc/>
    public double MinMsPerItem { get; }

    /// <inheritdoc/>
    public double Cost(int items)
    {
        if (items < 0) throw new ArgumentOutOfRangeException(nameof(items));
        if (items == 0) return 0;
        lock (_gate) if (_cache.TryGetValue(items, out var cached)) return cached;
        // Equal to the smallest T with Σ Capacity_u(T) ≥ items, so it agrees with Capacity below.
        double cost = IsFeasible(items) ? SplitSolver.MinMakespan(_parts, items) : double.PositiveInfinity;
        lock (_gate)
        {
            if (_cache.Count > 4096) _cache.Clear();
            _cache[items] = cost;
        }
        return cost;
    }

    /// <inheritdoc/>
    public int Capacity(double budgetMs, int limit)
    {
        if (limit <= 0 || !(budgetMs >= 0)) return 0;
        long total = 0;
        foreach (var p in _parts)
        {
            total += p.Capacity(budgetMs, limit);
            if (total >= limit) return limit;
        }
        return (int)total;
    }

    /// <summary>The group's optimal split of <paramref name="items"/> items over its members.</summary>
    public SplitResult Split(int items, CancellationToken cancellationToken = default) =>
        SplitSolver.Split(_parts, items, cancellationToken);

    private bool IsFeasible(int items) => Capacity(double.MaxValue, items) >= items;
}
