using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Planning;

/// <summary>Stable ErrorIds raised by the planner.</summary>
public static class PlanningErrorIds
{
    /// <summary>The batch size (or re-planned item count) is not ≥ 1.</summary>
    public const string InvalidBatchSize = "InvalidBatchSize";
    /// <summary>No unit was given to plan on.</summary>
    public const string NoUnits = "NoUnits";
    /// <summary>Neither a model name nor a model hash was given.</summary>
    public const string InvalidModel = "InvalidModel";
    /// <summary>The table has no rows for the model on some requested unit (see <see cref="MissingProfileException"/>).</summary>
    public const string MissingProfile = "MissingProfile";
    /// <summary>Rows of several machines, option sets or model versions match one unit; the caller must pick one.</summary>
    public const string AmbiguousProfile = "AmbiguousProfile";
    /// <summary>A table row cannot be used (non-positive batch size, time not a positive finite number).</summary>
    public const string InvalidProfile = "InvalidProfile";
    /// <summary>Every requested unit is unable to run the model (e.g. out of memory at batch size 1).</summary>
    public const string NoUsableUnit = "NoUsableUnit";
    /// <summary>A re-plan range is outside the batch.</summary>
    public const string InvalidItemRange = "InvalidItemRange";
    /// <summary>A machine is listed twice in a plan across machines (two sessions to one machine).</summary>
    public const string DuplicateMachine = "DuplicateMachine";
}

/// <summary>
/// ErrorId <c>MissingProfile</c>: the performance table has no data for <see cref="Model"/> on
/// <see cref="MissingUnits"/>. The caller (the cmdlet) may profile those units and plan again.
/// </summary>
public sealed class MissingProfileException : HeteroBatchException
{
    public MissingProfileException(string model, IReadOnlyList<string> missingUnits, string? machineName = null)
        : base(PlanningErrorIds.MissingProfile, ErrorKind.ObjectNotFound, BuildMessage(model, missingUnits, machineName), missingUnits.ToArray())
    {
        Model = model;
        MissingUnits = missingUnits.ToArray();
        MachineName = machineName;
    }

    /// <summary>Model name (or hash when no name was given).</summary>
    public string Model { get; }
    /// <summary>Units with no rows for the model, in the order they were requested.</summary>
    public IReadOnlyList<string> MissingUnits { get; }
    /// <summary>The machine the rows were looked up for; null when any machine was accepted.</summary>
    public string? MachineName { get; }

    private static string BuildMessage(string model, IReadOnlyList<string> units, string? machine)
    {
        var names = string.Join(", ", units.Select(u => $"'{u}'"));
        var where = string.IsNullOrEmpty(machine) ? "" : $" of machine '{machine}'";
        var hints = string.Join("; ", units.Select(u => $"Measure-BatchProfile -Model {model} -Unit {u}"));
        return $"The performance table has no measurements of model '{model}' on unit{(units.Count == 1 ? "" : "s")} {names}{where}. " +
               $"Profile {(units.Count == 1 ? "it" : "them")} first: {hints}.";
    }
}
