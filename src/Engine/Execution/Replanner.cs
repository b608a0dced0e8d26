using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Re-plans a failed unit's unfinished items. Returned shares must tile [Offset, Offset+Items) with units of the
/// request; a result that does not is replaced by <see cref="ReplanStrategies.WaterFill"/>.
/// </summary>
public delegate IReadOnlyList<UnitShare> Replanner(ReplanRequest request);
