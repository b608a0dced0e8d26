using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Planning;

/// <summary>Stable ErrorIds raised by the planner.</summary>
public static class PlanningErrorIds
{
    /// <summary>The batch size (or re-planned item count) is not ≥ 1.</summary>
    public const string InvalidBatchSize = BatchErrorIds.InvalidBatchSize;
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
    /// <summary>The planning algorithm is not one of <see cref="PlanAlgorithm"/>'s.</summary>
    public const string InvalidAlgorithm = "InvalidAlgorithm";
}

/// <summary>
/// ErrorId <c>MissingProfile</c>: the performance table has no data for <see cref="Model"/> on
/// <see cref="MissingUnits"/>. The caller (the cmdlet) may profile those units and plan again.
/// </summary>
public sealed class MissingProfileException : HeteroBatchException
{
    public MissingProfileException(string model, IReadOnlyList<string> missingUnits, string? machineName = null)
        : this(model, missingUnits, machineName, ProfileCommand(model, missingUnits))
    {
    }

    /// <summary>As the other constructor, with the exact command to paste (see <see cref="ProfileCommand"/>), e.g. one
    /// that names the model as the user gave it (an ONNX path) and the table path.</summary>
    public MissingProfileException(string model, IReadOnlyList<string> missingUnits, string? machineName, string profileCommand)
        : base(PlanningErrorIds.MissingProfile, ErrorKind.ObjectNotFound, BuildMessage(model, missingUnits, machineName, profileCommand), missingUnits.ToArray())
    {
        Model = model;
        MissingUnits = missingUnits.ToArray();
        MachineName = machineName;
        Command = profileCommand;
    }

    /// <summary>The Measure-BatchProfile command the message gives: pasted (on the machine), it saves the missing rows.</summary>
    public string Command { get; }

    /// <summary>
    /// The <c>Measure-BatchProfile</c> command that measures <paramref name="units"/> for <paramref name="model"/> and saves
    /// the rows (<c>-Save</c>) to <paramref name="tablePath"/> (left out: the default table), so that planning again works.
    /// <paramref name="model"/> is written as the user gave it (a zoo name, or an ONNX path); values are quoted for PowerShell
    /// where needed. <paramref name="threadCount"/> above 0 adds -ThreadCount (rows are keyed by the CPU's thread count).
    /// </summary>
    public static string ProfileCommand(string model, IReadOnlyList<string> units, string? tablePath = null, bool halfPrecision = false, int threadCount = 0)
    {
        var command = $"Measure-BatchProfile -Model {Quote(model)} -Unit {string.Join(",", units.Select(Quote))}";
        if (threadCount > 0) command += " -ThreadCount " + threadCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (halfPrecision) command += " -Precision Half";
        command += " -Save";
        if (!string.IsNullOrEmpty(tablePath)) command += " -Path " + Quote(tablePath);
        return command;
    }

    /// <summary>A bare word when PowerShell reads it as one string argument, else a single-quoted string.</summary>
    private static string Quote(string value)
    {
        bool bare = value.Length > 0 && value[0] != '-'
            && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or '\\' or ':');
        return bare ? value : "'" + value.Replace("'", "''") + "'";
    }

    /// <summary>Model name (or hash when no name was given).</summary>
    public string Model { get; }
    /// <summary>Units with no rows for the model, in the order they were requested.</summary>
    public IReadOnlyList<string> MissingUnits { get; }
    /// <summary>The machine the rows were looked up for; null when any machine was accepted.</summary>
    public string? MachineName { get; }

    private static string BuildMessage(string model, IReadOnlyList<string> units, string? machine, string command)
    {
        var names = string.Join(", ", units.Select(u => $"'{u}'"));
        var where = string.IsNullOrEmpty(machine) ? "" : $" of machine '{machine}'";
        var on = string.IsNullOrEmpty(machine) || UnitAddress.IsThisMachine(machine) ? "" : $" on '{machine}'";
        return $"The performance table has no measurements of model '{model}' on unit{(units.Count == 1 ? "" : "s")} {names}{where}. " +
               $"Profile {(units.Count == 1 ? "it" : "them")} and save the rows first{on}, then retry: {command}";
    }
}
