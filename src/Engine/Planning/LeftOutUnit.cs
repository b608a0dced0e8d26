namespace HeteroBatch.Engine.Planning;

/// <summary>
/// A cold unit the planner left out of a run because its setup would cost more than it saves (see
/// <see cref="ColdUnitRule"/>). A plain record, so it survives CSV, JSON and remoting.
/// </summary>
public sealed record LeftOutUnit
{
    public required string Unit { get; init; }
    /// <summary>Its estimated setup (opening its session and warming the sizes its share would run), milliseconds.</summary>
    public double SetupMs { get; init; }
    /// <summary>Run time it would have saved (with the other units left out with it), milliseconds: the predicted run
    /// without it minus the predicted run with it.</summary>
    public double SavedMs { get; init; }
    /// <summary>The batch sizes its share would have run.</summary>
    public int[] BatchSizes { get; init; } = Array.Empty<int>();
    /// <summary>Why, in words, and how to keep it.</summary>
    public string Reason { get; init; } = "";
}
