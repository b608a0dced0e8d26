using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Where the pipeline plans and re-plans. INTERIM: until the planning area's BatchPlanner is merged this is a
/// small proportional planner over the table rows (items in proportion to each unit's best measured throughput,
/// chunked at the unit's largest measured batch), and re-planning is the executor's water filling.
/// </summary>
internal static class PlannerBridge
{
    public static BatchPlan Plan(PlanInputs inputs, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var curves = inputs.Units.Select(u => (Unit: u.Id, Rows: inputs.Rows
                .Where(r => string.Equals(r.Unit, u.Id, StringComparison.OrdinalIgnoreCase) && r.Status == PerfStatus.Ok && r.TotalMs > 0)
                .OrderBy(r => r.BatchSize).ToArray()))
            .ToArray();
        if (curves.Any(c => c.Rows.Length == 0))
            throw new HeteroBatchException(ExecutionErrorIds.MissingProfile, ErrorKind.ObjectNotFound,
                $"No measurements of '{inputs.Model.Name}' on {string.Join(", ", curves.Where(c => c.Rows.Length == 0).Select(c => c.Unit))}.");
        int n = inputs.BatchSize;
        double Cost(PerfEntry[] rows, int items)
        {
            if (items <= 0) return 0;
            var max = rows[^1];
            if (items > max.BatchSize) return (items / max.BatchSize) * max.TotalMs + Cost(rows, items % max.BatchSize);
            var below = rows.LastOrDefault(r => r.BatchSize <= items);
            var above = rows.First(r => r.BatchSize >= items);
            if (below is null) return above.TotalMs * items / above.BatchSize;
            if (below.BatchSize == above.BatchSize) return below.TotalMs;
            return below.TotalMs + (above.TotalMs - below.TotalMs) * (items - below.BatchSize) / (above.BatchSize - below.BatchSize);
        }
        var rate = curves.Select(c => c.Rows.Where(r => r.BatchSize <= Math.Max(n, c.Rows[0].BatchSize)).Max(r => r.BatchSize / r.TotalMs)).ToArray();
        var items = rate.Select(r => (int)Math.Floor(n * r / rate.Sum())).ToArray();
        items[Array.IndexOf(rate, rate.Max())] += n - items.Sum();
        // Move single items off the slowest unit while that shortens the makespan.
        for (int round = 0; round < n; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var times = curves.Select((c, i) => Cost(c.Rows, items[i])).ToArray();
            int slow = Array.IndexOf(times, times.Max());
            if (items[slow] == 0) break;
            int best = -1; double bestMakespan = times.Max();
            for (int j = 0; j < items.Length; j++)
            {
                if (j == slow) continue;
                var t = (double[])times.Clone();
                t[slow] = Cost(curves[slow].Rows, items[slow] - 1);
                t[j] = Cost(curves[j].Rows, items[j] + 1);
                if (t.Max() < bestMakespan - 1e-9) { bestMakespan = t.Max(); best = j; }
            }
            if (best < 0) break;
            items[slow]--; items[best]++;
        }
        var shares = new List<UnitShare>();
        int offset = 0;
        for (int i = 0; i < curves.Length; i++)
        {
            int cap = curves[i].Rows[^1].BatchSize;
            var chunks = new List<int>();
            for (int left = items[i]; left > 0; left -= cap) chunks.Add(Math.Min(cap, left));
            shares.Add(new UnitShare
            {
                Unit = curves[i].Unit, MachineName = inputs.Units[i].MachineName, Items = items[i], Offset = offset,
                ExecutedBatchSizes = chunks.ToArray(), PredictedMs = Cost(curves[i].Rows, items[i]),
                Reason = items[i] == 0 ? "slower than the makespan" : null,
            });
            offset += items[i];
        }
        var singles = curves.Select(c => (c.Unit, Ms: Cost(c.Rows, n))).OrderBy(x => x.Ms).First();
        return new BatchPlan
        {
            Model = inputs.Model.Name, ModelHash = inputs.Model.Hash, BatchSize = n, Algorithm = PlanAlgorithm.Proportional,
            PredictedMs = shares.Max(s => s.PredictedMs), BestSingleUnit = singles.Unit, BestSingleUnitMs = singles.Ms,
            Shares = shares.ToArray(), PlanningMs = clock.Elapsed.TotalMilliseconds,
        };
    }

    public static Replanner? ReplannerFor(PlanInputs inputs) => null;
}
