namespace HeteroBatch.Engine.Planning;

/// <summary>Result of <see cref="SeedSearch"/>.</summary>
/// <param name="Items">Items per unit, in the order the units were given.</param>
/// <param name="Rounds">Rounds run (one round tries one move from the base unit to every other unit).</param>
/// <param name="EstimatedMs">The seed's own estimate of each unit's time for its items (its cost model, not the planner's).</param>
public sealed record SeedResult(int[] Items, int Rounds, double[] EstimatedMs);
