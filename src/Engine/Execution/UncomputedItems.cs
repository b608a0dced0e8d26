using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// The <c>ItemsNotComputed</c> error of a run whose failed workers (units or machines) left items no other worker
/// could take: the item ranges merged and named, with each failure.
/// </summary>
internal static class UncomputedItems
{
    /// <param name="ranges">Half-open item ranges not computed, in any order, possibly overlapping.</param>
    /// <param name="batchSize">Items in the whole batch.</param>
    /// <param name="worker">What failed, in the message: "unit" or "machine".</param>
    /// <param name="failures">Each failed worker's name and error, the first error becoming the inner exception.</param>
    public static HeteroBatchException Error(IEnumerable<(int From, int To)> ranges, int batchSize, string worker,
        IEnumerable<(string Name, Exception Error)> failures)
    {
        var merged = new List<(int From, int To)>();
        foreach (var r in ranges.OrderBy(r => r.From))
        {
            if (merged.Count > 0 && merged[^1].To >= r.From) merged[^1] = (merged[^1].From, Math.Max(merged[^1].To, r.To));
            else merged.Add(r);
        }
        var rangeText = string.Join(", ", merged.Select(r => r.To - r.From == 1 ? $"{r.From}" : $"{r.From}-{r.To - 1}"));
        var failed = failures.ToList();
        int missing = merged.Sum(r => r.To - r.From);
        return new HeteroBatchException(ExecutionErrorIds.ItemsNotComputed, ErrorKind.DeviceError,
            $"{missing} of {batchSize} items were not computed (items {rangeText}): every {worker} that could take them failed " +
            $"({string.Join("; ", failed.Select(f => $"{f.Name}: {f.Error.Message}"))}). Fix or leave out the failing {worker}s and run the batch again.",
            rangeText, failed.Select(f => f.Error).FirstOrDefault());
    }
}
