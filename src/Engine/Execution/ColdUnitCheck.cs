using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// The planning step of a run on this machine with <see cref="ColdUnitRule"/>: the setup of each unit comes from the
/// perf table's setup costs (<see cref="PerfEntry.OpenMs"/>, <see cref="PerfEntry.WarmUpMs"/>, measured by the
/// profiler) and from this process's sessions (which are open, which sizes are warm); the rule then leaves out a cold
/// unit whose setup costs more than it saves, and says so on the verbose stream.
/// </summary>
internal static class ColdUnitCheck
{
    public static (BatchPlan Plan, LeftOutUnit[] LeftOut) Plan(PlanInputs inputs, IReadOnlyDictionary<string, BackendOptions> options,
        PipelineServices services, IOutputWriter output, CancellationToken cancellationToken)
    {
        BatchPlan PlanOver(IReadOnlyList<string> ids) =>
            services.Plan(inputs with { Units = inputs.Units.Where(u => ids.Contains(u.Id, StringComparer.OrdinalIgnoreCase)).ToArray() }, cancellationToken);

        // Whether each unit is open and warm, asked before planning; a provider that cannot tell leaves the plan alone.
        var sessions = new Dictionary<string, IInferenceSession?>(StringComparer.OrdinalIgnoreCase);
        foreach (var unit in inputs.Units)
        {
            if (!services.Sessions.TryPeek(inputs.Model, unit, options[unit.Id], out var session))
                return (services.Plan(inputs, cancellationToken), Array.Empty<LeftOutUnit>());
            sessions[unit.Id] = session;
        }
        if (inputs.Units.Count < 2) return (services.Plan(inputs, cancellationToken), Array.Empty<LeftOutUnit>());
        var warmth = new Dictionary<(string Unit, int Size), bool>();

        double? SetupOf(UnitShare share)
        {
            var unit = inputs.Units.First(u => string.Equals(u.Id, share.Unit, StringComparison.OrdinalIgnoreCase));
            var session = sessions[unit.Id];
            // An open session that cannot be warmed pays nothing before the run (the executor only opens it).
            // Asked on the unit's worker, the thread that runs it: a CUDA session is warm per host thread. Asked here, a
            // GPU warmed by earlier calls looked cold and was left out (ResNet-50, 37 items, all on the CPU: 296 ms).
            Func<int, bool> isWarm = session is not IWarmableSession warm ? _ => true
                : unit.Kind == ComputeUnitKind.Cpu ? warm.IsWarm
                : size => warmth.TryGetValue((unit.Id, size), out var known) ? known
                    : warmth[(unit.Id, size)] = UnitWorker.For(unit).Invoke(() => warm.IsWarm(size));
            // A share without sizes runs whole, as one batch of its items.
            var sizes = share.ExecutedBatchSizes.Length > 0 ? share.ExecutedBatchSizes : new[] { share.Items };
            return SetupCost.Estimate(inputs.Rows.Where(r => InferencePipeline.SameUnit(r, unit)).ToArray(), session is not null, isWarm, sizes);
        }

        var outcome = ColdUnitRule.Apply(inputs.Units.Select(u => u.Id).ToArray(), PlanOver, SetupOf, cancellationToken);
        if (outcome.UnknownSetup.Count > 0 && outcome.Plan.Shares.Count(s => s.Items > 0) > 1)
            output.WriteVerbose($"Cold unit(s) {string.Join(", ", outcome.UnknownSetup)}: the perf table has no setup cost for them (rows profiled before " +
                "setup costs were recorded, or on a session already open), so the planner cannot weigh their setup against what they save and keeps " +
                "every unit. Profiling them again in a fresh session (Measure-BatchProfile -Save) records it.");
        var leftOut = outcome.LeftOut.Select(l => l with { Reason = Reason(l, outcome, sessions[l.Unit] is not null) }).ToArray();
        foreach (var l in leftOut) output.WriteVerbose(l.Reason);
        if (outcome.ColdKept.Count > 0)
            output.WriteVerbose($"Cold unit(s) kept: {string.Join(", ", outcome.ColdKept.Select(c => $"{c.Unit} (setup about {PlanText.Ms(c.SetupMs)} ms)"))}; " +
                $"they warm at once before the run, so the setup is about {PlanText.Ms(outcome.SetupMs)} ms, and it is worth what they save " +
                $"(setup and run predicted {PlanText.Ms(outcome.ChosenMs)} ms).");
        return (outcome.Plan, leftOut);
    }

    private static string Reason(LeftOutUnit unit, ColdUnitOutcome outcome, bool sessionOpen)
    {
        var others = outcome.LeftOut.Where(l => !string.Equals(l.Unit, unit.Unit, StringComparison.OrdinalIgnoreCase)).Select(l => l.Unit).ToArray();
        string sizes = string.Join(", ", unit.BatchSizes);
        string what = sessionOpen ? $"warming batch size(s) {sizes}" : $"opening its session and warming batch size(s) {sizes}";
        double with = outcome.Plan.PredictedMs - unit.SavedMs;
        return $"Left out cold unit {unit.Unit}: its setup ({what}) is estimated at {PlanText.Ms(unit.SetupMs)} ms from the perf table, " +
               $"more than the {PlanText.Ms(unit.SavedMs)} ms it would save the run{(others.Length > 0 ? $" (together with {string.Join(", ", others)}, also left out)" : "")}: " +
               $"run predicted {PlanText.Ms(outcome.Plan.PredictedMs)} ms without it, {PlanText.Ms(with)} ms with it; setup and run " +
               $"{PlanText.Ms(outcome.ChosenMs)} ms without it, {PlanText.Ms(outcome.WithAllMs)} ms with it. To use it, run with -WarmUp " +
               "(every unit is warmed and kept); once it is warm, later calls use it.";
    }
}
