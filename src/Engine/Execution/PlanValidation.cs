using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Checks that a plan fits a batch and its units before anything runs: shares tile [0, N) exactly, each unit
/// appears once and is one of the units given, and chunk sizes cover each share (only the last may be padded).
/// </summary>
public static class PlanValidation
{
    /// <summary>Throws <c>InvalidPlan</c> naming what is wrong, or <c>UnitNotAvailable</c> for a unit that is not usable.</summary>
    public static void Check(BatchPlan plan, int batchSize, IReadOnlyList<ComputeUnit> units, ModelInfo model) =>
        Validate(plan, batchSize, units, model);

    internal static IReadOnlyList<HeteroExecutor.Assignment> Validate(BatchPlan plan, int batchSize, IReadOnlyList<ComputeUnit> units, ModelInfo model)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (units.Count == 0)
            throw new HeteroBatchException(ExecutionErrorIds.NoUnits, ErrorKind.InvalidArgument, "No compute unit was given to run the batch on.");
        if (plan.BatchSize != batchSize)
            throw Invalid($"The plan is for a batch of {plan.BatchSize} items but the input has {batchSize}. Plan again for this batch.", plan.BatchSize);
        if (!string.IsNullOrEmpty(plan.ModelHash) && !string.IsNullOrEmpty(model.Hash) && !string.Equals(plan.ModelHash, model.Hash, StringComparison.OrdinalIgnoreCase))
            throw Invalid($"The plan was made for another model ({plan.Model}, {Short(plan.ModelHash)}) than '{model.Name}' ({model.ShortHash}).", plan.Model);
        var byId = new Dictionary<string, ComputeUnit>(StringComparer.OrdinalIgnoreCase);
        foreach (var u in units)
            if (!byId.TryAdd(u.Id, u))
                throw new HeteroBatchException(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument, $"Unit '{u.Id}' is given twice.", u.Id);
        foreach (var u in units)
            if (!u.Available)
                throw new HeteroBatchException(ExecutionErrorIds.UnitNotAvailable, ErrorKind.ResourceUnavailable,
                    $"Unit '{u.Id}' is not available: {u.Reason ?? "no reason given"}.", u.Id);

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var assignments = new List<HeteroExecutor.Assignment>();
        foreach (var share in plan.Shares)
        {
            if (!seen.Add(share.Unit)) throw Invalid($"Unit '{share.Unit}' has two shares in the plan.", share.Unit);
            if (!byId.TryGetValue(share.Unit, out var unit))
                throw Invalid($"The plan gives items to unit '{share.Unit}', which is not among the units to run on ({string.Join(", ", byId.Keys)}).", share.Unit);
            if (!string.IsNullOrEmpty(share.MachineName) && !string.Equals(share.MachineName, unit.MachineName, StringComparison.OrdinalIgnoreCase))
                throw Invalid($"The plan's share for '{share.Unit}' is on machine '{share.MachineName}', not '{unit.MachineName}'.", share.Unit);
            if (share.Items < 0 || share.Offset < 0)
                throw Invalid($"The share of '{share.Unit}' has a negative item count or offset.", share.Unit);
            if (share.Items == 0)
            {
                if (share.ExecutedBatchSizes.Length > 0) throw Invalid($"The share of '{share.Unit}' has no items but batch sizes to run.", share.Unit);
                continue;
            }
            var error = CheckChunks(share, model);
            if (error is not null) throw Invalid(error, share.Unit);
            assignments.Add(new HeteroExecutor.Assignment(unit, share.Offset, share.Items, ChunksFor(share, model), false));
        }

        int next = 0;
        foreach (var a in assignments.OrderBy(a => a.Offset))
        {
            if (a.Offset != next)
                throw Invalid(a.Offset > next
                    ? $"Items {next}-{a.Offset - 1} are in no unit's share."
                    : $"Items {a.Offset}-{Math.Min(next, a.End) - 1} are in two shares.", a.Unit.Id);
            next = a.End;
        }
        if (next != batchSize)
            throw Invalid(next < batchSize ? $"Items {next}-{batchSize - 1} are in no unit's share." : $"The shares cover {next} items, more than the batch of {batchSize}.", plan.BatchSize);
        return assignments;
    }

    /// <summary>True when <paramref name="shares"/> tile [from, to) exactly with allowed units and valid chunks.</summary>
    internal static bool TilesRange(IReadOnlyList<UnitShare>? shares, int from, int to, IReadOnlySet<string> allowedUnits, ModelInfo model)
    {
        if (shares is null) return false;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int next = from;
        foreach (var s in shares.Where(s => s.Items > 0).OrderBy(s => s.Offset))
        {
            if (!allowedUnits.Contains(s.Unit) || !seen.Add(s.Unit) || s.Offset != next || CheckChunks(s, model) is not null) return false;
            next += s.Items;
        }
        return next == to;
    }

    /// <summary>The chunk sizes a share runs: its ExecutedBatchSizes, or when it has none, the whole share in
    /// pieces no larger than the model's MaxBatchSize.</summary>
    internal static int[] ChunksFor(UnitShare share, ModelInfo model)
    {
        if (share.ExecutedBatchSizes.Length > 0) return share.ExecutedBatchSizes;
        int cap = model.MaxBatchSize is > 0 and var max ? max : share.Items;
        var chunks = new List<int>();
        for (int left = share.Items; left > 0; left -= cap) chunks.Add(Math.Min(cap, left));
        return chunks.ToArray();
    }

    private static string? CheckChunks(UnitShare share, ModelInfo model)
    {
        if (share.ExecutedBatchSizes.Length == 0) return null;
        int left = share.Items;
        foreach (var size in share.ExecutedBatchSizes)
        {
            if (size <= 0) return $"The share of '{share.Unit}' has a batch size of {size}; sizes must be positive.";
            if (model.MaxBatchSize is > 0 and var max && size > max)
                return $"The share of '{share.Unit}' runs a batch of {size}, more than model '{model.Name}' accepts ({max}).";
            if (left <= 0) return $"The share of '{share.Unit}' has more batches ({string.Join(",", share.ExecutedBatchSizes)}) than its {share.Items} items need.";
            left -= size;
        }
        if (left > 0) return $"The batch sizes of '{share.Unit}' ({string.Join(",", share.ExecutedBatchSizes)}) cover fewer than its {share.Items} items.";
        return null;
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;

    private static HeteroBatchException Invalid(string message, object? target) =>
        new(ExecutionErrorIds.InvalidPlan, ErrorKind.InvalidArgument, message, target);
}
