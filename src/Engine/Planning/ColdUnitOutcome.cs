namespace HeteroBatch.Engine.Planning;

/// <summary>What <see cref="ColdUnitRule"/> decided: the plan to run and the cold units it left out, with the numbers
/// it compared (for the verbose stream).</summary>
public sealed record ColdUnitOutcome
{
    /// <summary>The plan to run: the plan over every unit, or the best one without the cold units left out.</summary>
    public required BatchPlan Plan { get; init; }
    /// <summary>Cold units left out (their setup, what they would save, the sizes their share would run); empty when none.</summary>
    public IReadOnlyList<LeftOutUnit> LeftOut { get; init; } = Array.Empty<LeftOutUnit>();
    /// <summary>Cold units of the plan whose setup is unknown: the rule was not applied.</summary>
    public IReadOnlyList<string> UnknownSetup { get; init; } = Array.Empty<string>();
    /// <summary>Cold units of <see cref="Plan"/> (kept), with their setup estimate, milliseconds.</summary>
    public IReadOnlyList<(string Unit, double SetupMs)> ColdKept { get; init; } = Array.Empty<(string, double)>();
    /// <summary>Predicted setup + run of the plan over every unit, milliseconds (NaN when a setup is unknown).</summary>
    public double WithAllMs { get; init; } = double.NaN;
    /// <summary>Predicted setup + run of <see cref="Plan"/>, milliseconds (NaN when a setup is unknown).</summary>
    public double ChosenMs { get; init; } = double.NaN;
    /// <summary>Predicted setup of <see cref="Plan"/>: the largest of its units' setups (they warm at once), milliseconds.</summary>
    public double SetupMs { get; init; }
}
