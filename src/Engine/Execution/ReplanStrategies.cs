using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>Built-in re-planning strategies.</summary>
public static class ReplanStrategies
{
    /// <summary>
    /// Spreads the items so that the remaining units are predicted to finish together: each unit's finish time is
    /// BusyMs + items × MsPerItem, and the items fill the earliest-finishing units first (water filling). Units of
    /// unknown speed count as the average of the known ones (or 1 ms/item when none is known). Chunks are capped at
    /// each unit's MaxChunk (else the model's MaxBatchSize).
    /// </summary>
    public static IReadOnlyList<UnitShare> WaterFill(ReplanRequest request)
    {
        var units = request.Units;
        if (units.Count == 0 || request.Items <= 0) return Array.Empty<UnitShare>();
        var msPerItem = units.Select(u => u.MsPerItem).ToArray();
        var busy = units.Select(u => u.BusyMs).ToArray();
        var items = Planning.WaterFill.Split(request.Items, busy, msPerItem);

        var shares = new List<UnitShare>();
        int offset = request.Offset;
        for (int i = 0; i < units.Count; i++)
        {
            if (items[i] == 0) continue;
            int cap = units[i].MaxChunk ?? request.Model.MaxBatchSize ?? items[i];
            if (request.Model.MaxBatchSize is int max) cap = Math.Min(cap, max);
            cap = Math.Max(1, cap);
            var chunks = new List<int>();
            for (int left2 = items[i]; left2 > 0; left2 -= cap) chunks.Add(Math.Min(cap, left2));
            shares.Add(new UnitShare
            {
                Unit = units[i].Unit,
                Items = items[i],
                Offset = offset,
                ExecutedBatchSizes = chunks.ToArray(),
                PredictedMs = Planning.WaterFill.FinishMs(busy[i], items[i], msPerItem[i], msPerItem),
            });
            offset += items[i];
        }
        return shares;
    }
}
