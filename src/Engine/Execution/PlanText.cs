using System.Globalization;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>A plan in one line of words, for the verbose stream: who gets what, in which chunks, who gets nothing and why,
/// and the predicted time.</summary>
internal static class PlanText
{
    public static string Describe(BatchPlan plan)
    {
        var parts = new List<string>();
        foreach (var m in plan.MachineShares)
            parts.Add(m.Items > 0 ? $"machine {m.MachineName}: items {m.Offset}-{m.Offset + m.Items - 1} ({m.Items}), predicted {Ms(m.PredictedMs)} ms"
                : $"machine {m.MachineName}: no items ({m.Reason ?? "none given"})");
        foreach (var s in plan.Shares)
            parts.Add(s.Items > 0
                ? $"{s.Unit}: items {s.Offset}-{s.Offset + s.Items - 1} ({s.Items}) in chunks of {string.Join("+", s.ExecutedBatchSizes)}, predicted {Ms(s.PredictedMs)} ms"
                : $"{s.Unit}: no items ({s.Reason ?? "none given"})");
        var best = !string.IsNullOrEmpty(plan.BestSingleUnit) && double.IsFinite(plan.BestSingleUnitMs)
            ? $"; best single unit {plan.BestSingleUnit} alone: {Ms(plan.BestSingleUnitMs)} ms"
            : "";
        return $"{string.Join("; ", parts)}. Predicted time: {Ms(plan.PredictedMs)} ms{best}.";
    }

    internal static string Ms(double ms) => double.IsFinite(ms) ? ms.ToString("0.##", CultureInfo.InvariantCulture) : "unknown";
}
