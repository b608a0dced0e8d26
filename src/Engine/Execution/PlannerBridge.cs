using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Where the pipeline plans and re-plans: the planning area's <see cref="BatchPlanner"/> over the table rows of this
/// run's units (already narrowed to each unit's machine and backend options, so units with different options plan
/// together), and <see cref="BatchPlanner.Replan"/> for a failed unit's items, with each remaining unit's queued work
/// as its busy time.
/// </summary>
internal static class PlannerBridge
{
    public static BatchPlan Plan(PlanInputs inputs, CancellationToken cancellationToken) =>
        BatchPlanner.Plan(inputs.Rows, new PlanRequest
        {
            Model = inputs.Model.Name,
            ModelHash = inputs.Model.Hash,
            BatchSize = inputs.BatchSize,
            Units = inputs.Units.Select(u => u.Id).ToArray(),
            Algorithm = inputs.Algorithm,
        }, cancellationToken);

    /// <summary>The planning area's re-plan over the run's cost model; null (the executor's water filling) when the run
    /// has no table rows (a plan given by the caller) or they do not make a cost model.</summary>
    public static Replanner? ReplannerFor(PlanInputs inputs)
    {
        if (inputs.Rows.Count == 0) return null;
        CostModel model;
        try
        {
            model = CostModel.FromTable(inputs.Rows, inputs.Model.Name, inputs.Model.Hash, inputs.Units.Select(u => u.Id));
        }
        catch (HeteroBatchException)
        {
            return null;
        }
        return request =>
        {
            var busy = request.Units.ToDictionary(u => u.Unit, u => u.BusyMs, StringComparer.OrdinalIgnoreCase);
            var plan = BatchPlanner.Replan(model, request.Offset, request.Items, request.Units.Select(u => u.Unit).ToArray(), busy, inputs.Algorithm);
            return plan.Shares;
        };
    }
}
