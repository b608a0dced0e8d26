using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Profiling;

/// <summary>How <see cref="BatchProfiler"/> measures (Measure-BatchProfile's parameters).</summary>
public sealed record ProfileOptions
{
    /// <summary>The seed paper's grid: 2^n − 1, 2^n, 2^n + 1 (from 1 up to 129).</summary>
    public static IReadOnlyList<int> DefaultGrid { get; } = BuildGrid(129);

    /// <summary>Batch sizes to measure; null uses the default grid up to <see cref="MaxBatchSize"/>.</summary>
    public IReadOnlyList<int>? BatchSizes { get; init; }
    /// <summary>Largest batch size of the default grid (the grid is extended by the 2^n ± 1 pattern past 129, and this size itself is measured).</summary>
    public int MaxBatchSize { get; init; } = 129;
    /// <summary>Unmeasured runs before each point (warms caches, lets the backend pick kernels).</summary>
    public int WarmupRuns { get; init; } = 2;
    /// <summary>Most warm-up runs per point: after <see cref="WarmupRuns"/>, warming goes on until two runs in a row
    /// agree within <see cref="StableTolerance"/>, up to this many.</summary>
    public int MaxWarmupRuns { get; init; } = 10;
    /// <summary>Relative difference of two consecutive warm-up runs under which a point counts as steady (0.05 = 5 %).</summary>
    public double StableTolerance { get; init; } = 0.05;
    /// <summary>Timed runs per point; fewer when a run takes long (see <see cref="MaxSecondsPerPoint"/>).</summary>
    public int Repeats { get; init; } = 5;
    /// <summary>A run longer than this marks the point TooSlow and stops growing the batch on that unit.
    /// The very first run on a unit (session start-up) is exempt.</summary>
    public double MaxSecondsPerRun { get; init; } = 60;
    /// <summary>Time the timed runs of one point should take at most; cuts the repeats of slow points (never below 1).</summary>
    public double MaxSecondsPerPoint { get; init; } = 20;
    /// <summary>After the grid, measure extra sizes where linear interpolation is off by more than <see cref="RefineTolerance"/>.</summary>
    public bool Refine { get; init; } = true;
    /// <summary>Relative error of linear interpolation above which a midpoint is kept (0.10 = 10 %).</summary>
    public double RefineTolerance { get; init; } = 0.10;
    /// <summary>Most extra sizes measured per unit by refinement (kept or not).</summary>
    public int MaxRefinePoints { get; init; } = 12;
    /// <summary>An interpolation error below this many milliseconds is noise, whatever its relative size.</summary>
    public double MinRefineDeltaMs { get; init; } = 0.05;
    /// <summary>Seed of the random input (same seed, same input).</summary>
    public int Seed { get; init; } = 1234;
    /// <summary>Options of the sessions; part of each row's key.</summary>
    public BackendOptions BackendOptions { get; init; } = BackendOptions.Default;

    /// <summary>1, 2, and 2^n − 1, 2^n, 2^n + 1 for n ≥ 2, up to <paramref name="maxBatchSize"/>, plus that size itself.</summary>
    public static IReadOnlyList<int> BuildGrid(int maxBatchSize)
    {
        var sizes = new SortedSet<int>();
        for (long p = 1; p - 1 <= maxBatchSize; p *= 2)
            foreach (var b in new[] { p - 1, p, p + 1 })
                if (b >= 1 && b <= maxBatchSize) sizes.Add((int)b);
        if (maxBatchSize >= 1) sizes.Add(maxBatchSize);
        return sizes.ToArray();
    }
}

/// <summary>Stage of a profiling run.</summary>
public enum ProfilePhase
{
    /// <summary>Opening the unit's session.</summary>
    Opening,
    /// <summary>Measuring the batch-size grid.</summary>
    Grid,
    /// <summary>Measuring extra sizes where the cost curve bends.</summary>
    Refining,
    /// <summary>The unit is done.</summary>
    Completed,
}

/// <summary>Progress of <see cref="BatchProfiler"/>; PointsTotal grows when refinement adds points.</summary>
public sealed record ProfileProgress
{
    public required string Unit { get; init; }
    public int BatchSize { get; init; }
    public required ProfilePhase Phase { get; init; }
    public required int PointsDone { get; init; }
    public required int PointsTotal { get; init; }
    public double PercentComplete => PointsTotal > 0 ? Math.Min(100.0, 100.0 * PointsDone / PointsTotal) : 0;
}
