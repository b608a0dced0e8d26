using System.Diagnostics;
using System.Globalization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Planning;

/// <summary>What to plan: a model, a batch size and the units to spread it over.</summary>
public sealed record PlanRequest
{
    /// <summary>Model name as in the table (or the resolved model's name).</summary>
    public required string Model { get; init; }
    /// <summary>Model content hash; when given, rows are selected by it (see <see cref="CostModel.FromTable"/>).</summary>
    public string ModelHash { get; init; } = "";
    /// <summary>Items in the batch (≥ 1).</summary>
    public required int BatchSize { get; init; }
    /// <summary>Unit ids as in the table, in the order the shares should follow (output order).</summary>
    public required IReadOnlyList<string> Units { get; init; }
    /// <summary>Only rows of this machine; null: any (must be unambiguous per unit).</summary>
    public string? MachineName { get; init; }
    /// <summary>Only rows with this backend options key; null: any (must be unambiguous per unit).</summary>
    public string? BackendOptions { get; init; }
    public PlanAlgorithm Algorithm { get; init; } = PlanAlgorithm.Optimal;
    /// <summary>Round limit of <see cref="PlanAlgorithm.GreedyImproved"/>.</summary>
    public int GreedyMaxRounds { get; init; } = BaselineSplits.DefaultGreedyMaxRounds;
}

/// <summary>
/// Splits a batch over compute units from the performance table (see <see cref="UnitCostCurve"/> for the cost
/// model and <see cref="SplitSolver"/> for the optimal search). Shares are contiguous slices in unit order, so
/// gathering them by offset keeps the output order; every requested unit is listed, with a reason when it gets
/// no items.
/// </summary>
public static class BatchPlanner
{
    /// <summary>Plans <paramref name="request"/> from table rows.</summary>
    /// <exception cref="HeteroBatchException">InvalidBatchSize, NoUnits, InvalidModel, MissingProfile
    /// (<see cref="MissingProfileException"/>), AmbiguousProfile, InvalidProfile, NoUsableUnit.</exception>
    public static BatchPlan Plan(IEnumerable<PerfEntry> table, PlanRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var clock = Stopwatch.StartNew();
        CheckCount(request.BatchSize, "batch size");
        var model = CostModel.FromTable(table, request.Model, request.ModelHash, request.Units ?? Array.Empty<string>(), request.MachineName, request.BackendOptions);
        // The seed decides by its own estimate, which needs the rows' exec/I-O split that the curves do not keep.
        var seed = request.Algorithm == PlanAlgorithm.Seed
            ? model.Units.Select(u => SeedEstimate.ForCurve(u, table, model.Model, model.ModelHash)).ToArray()
            : null;
        return Build(model, model.Units.Select(u => (ICostCurve)u).ToArray(), model.Units, 0, request.BatchSize,
            request.Algorithm, request.GreedyMaxRounds, clock, cancellationToken, seed);
    }

    /// <summary>Plans a batch of <paramref name="batchSize"/> items over all units of <paramref name="model"/>.</summary>
    public static BatchPlan Plan(CostModel model, int batchSize, PlanAlgorithm algorithm = PlanAlgorithm.Optimal,
        int greedyMaxRounds = BaselineSplits.DefaultGreedyMaxRounds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var clock = Stopwatch.StartNew();
        CheckCount(batchSize, "batch size");
        if (model.Units.Count == 0) throw NoUnits();
        return Build(model, model.Units.Select(u => (ICostCurve)u).ToArray(), model.Units, 0, batchSize, algorithm, greedyMaxRounds, clock, cancellationToken);
    }

    /// <summary>
    /// Re-plans items [<paramref name="firstItem"/>, firstItem + <paramref name="count"/>) of a batch onto
    /// <paramref name="units"/> (e.g. after a unit failed). The result has <c>FirstItem = firstItem</c>,
    /// <c>BatchSize = count</c>, and share offsets that are positions in the whole batch, tiling the range.
    /// </summary>
    /// <param name="model">The cost model the batch was planned with.</param>
    /// <param name="firstItem">Position of the first item of the range in the whole batch.</param>
    /// <param name="count">Items in the range (≥ 1).</param>
    /// <param name="units">Units that may take the items (e.g. all but the failed one), in share order.</param>
    /// <param name="busyMs">Optional time each unit still needs for work already queued on it; a unit's predicted
    /// time for new items is then busy + its cost (units not in the map are idle).</param>
    /// <param name="algorithm">Planning algorithm (Optimal by default).</param>
    /// <param name="cancellationToken">Stops a long greedy search.</param>
    public static BatchPlan Replan(CostModel model, int firstItem, int count, IEnumerable<string> units,
        IReadOnlyDictionary<string, double>? busyMs = null, PlanAlgorithm algorithm = PlanAlgorithm.Optimal,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var clock = Stopwatch.StartNew();
        CheckCount(count, "number of items to re-plan");
        if (firstItem < 0)
            throw new HeteroBatchException(PlanningErrorIds.InvalidItemRange, ErrorKind.InvalidArgument,
                $"The first item to re-plan is {firstItem}; it must be ≥ 0.", firstItem);
        var names = (units ?? Array.Empty<string>()).Where(u => !string.IsNullOrWhiteSpace(u)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (names.Length == 0) throw NoUnits();
        var unknown = names.Where(n => model.Find(n) is null).ToArray();
        if (unknown.Length > 0) throw new MissingProfileException(model.Model, unknown);
        var selected = names.Select(n => model.Find(n)!).ToArray();
        var curves = selected.Select(u =>
        {
            double busy = 0;
            if (busyMs is not null)
                foreach (var kv in busyMs)
                    if (string.Equals(kv.Key, u.Unit, StringComparison.OrdinalIgnoreCase) && double.IsFinite(kv.Value) && kv.Value > 0) busy = kv.Value;
            return CostCurves.Delayed(u, busy);
        }).ToArray();
        return Build(model, curves, selected, firstItem, count, algorithm, BaselineSplits.DefaultGreedyMaxRounds, clock, cancellationToken);
    }

    private static BatchPlan Build(CostModel model, ICostCurve[] curves, IReadOnlyList<UnitCostCurve> units, int firstItem, int items,
        PlanAlgorithm algorithm, int greedyMaxRounds, Stopwatch clock, CancellationToken cancellationToken,
        IReadOnlyList<SeedEstimate?>? seed = null)
    {
        if (!units.Any(u => u.IsUsable))
            throw new HeteroBatchException(PlanningErrorIds.NoUsableUnit, ErrorKind.ResourceUnavailable,
                $"None of the units can run model '{model.Model}': " +
                string.Join("; ", units.Select(u => $"{u.Unit}: {u.UnusableReason}")) + ". Plan with other units.",
                units.Select(u => u.Unit).ToArray());

        // Without the rows (re-planning, a cost model built elsewhere) a unit's curve stands in for its seed estimate.
        var (split, optimalMakespan, zeroReason) = SplitAlgorithms.Split(curves, items, algorithm, greedyMaxRounds,
            seed?.Select(e => e is null ? null : (Func<int, double>)e.Ms).ToArray(), cancellationToken);

        var shares = new UnitShare[units.Count];
        double makespan = 0;
        int offset = firstItem;
        for (int u = 0; u < units.Count; u++)
        {
            int n = split[u];
            double predicted = curves[u].Cost(n);
            makespan = Math.Max(makespan, predicted);
            string? reason = null;
            if (n == 0)
            {
                if (!units[u].IsUsable) reason = units[u].UnusableReason;
                else if (algorithm == PlanAlgorithm.Optimal)
                {
                    double one = curves[u].Cost(1);
                    reason = one > optimalMakespan
                        ? $"slower than the makespan: one item takes {Ms(one)} ms, the other units finish all items in {Ms(optimalMakespan)} ms"
                        : "not needed: the other units finish all items within the makespan";
                }
                else reason = zeroReason;
            }
            shares[u] = new UnitShare
            {
                Unit = units[u].Unit,
                MachineName = units[u].MachineName,
                Items = n,
                Offset = offset,
                ExecutedBatchSizes = n > 0 ? units[u].ExecutedBatchSizes(n) : Array.Empty<int>(),
                PredictedMs = predicted,
                Reason = reason,
            };
            offset += n;
        }

        int best = -1;
        double bestMs = double.PositiveInfinity;
        for (int u = 0; u < curves.Length; u++)
        {
            double c = curves[u].Cost(items);
            if (c < bestMs) { bestMs = c; best = u; }
        }

        return new BatchPlan
        {
            Model = model.Model,
            ModelHash = model.ModelHash,
            BatchSize = items,
            FirstItem = firstItem,
            Algorithm = algorithm,
            PredictedMs = makespan,
            BestSingleUnit = best >= 0 ? units[best].Unit : "",
            BestSingleUnitMs = bestMs,
            Shares = shares,
            PlanningMs = clock.Elapsed.TotalMilliseconds,
        };
    }

    private static void CheckCount(int count, string what)
    {
        if (count <= 0)
            throw new HeteroBatchException(PlanningErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"The {what} is {count}; it must be at least 1.", count);
    }

    private static HeteroBatchException NoUnits() =>
        new(PlanningErrorIds.NoUnits, ErrorKind.InvalidArgument,
            "No compute unit was given to plan on. Pass unit ids (see Get-ComputeUnit) or the unit names of the table.");

    private static string Ms(double ms) => ms.ToString("0.###", CultureInfo.InvariantCulture);
}
