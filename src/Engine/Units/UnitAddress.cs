using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Units;

/// <summary>
/// A unit id that may name its machine: <c>node1/gpu0</c>, <c>node2/cpu</c>, <c>node2/cpu:1</c> — the machine
/// name, a slash, and the unit's id on that machine. A plain id (<c>gpu0</c>) names no machine: the local one,
/// or every machine of a cross-machine run. The machine part matches the name the machine reports
/// (<see cref="ComputeUnit.MachineName"/>) or the host name a session was opened to; <c>localhost</c> and
/// <c>.</c> mean this machine. Unit ids never contain a slash, so the first slash is the separator.
/// </summary>
public readonly record struct UnitAddress
{
    /// <summary>Separator between a machine name and a unit id.</summary>
    public const char Separator = '/';

    public UnitAddress(string? machineName, string unit)
    {
        MachineName = string.IsNullOrWhiteSpace(machineName) ? null : machineName.Trim();
        Unit = unit?.Trim() ?? throw new ArgumentNullException(nameof(unit));
    }

    /// <summary>The machine part; null when the id names no machine.</summary>
    public string? MachineName { get; }
    /// <summary>The unit's id on its machine (<c>cpu</c>, <c>gpu0</c>, <c>cpu:1</c>).</summary>
    public string Unit { get; }
    public bool HasMachine => MachineName is not null;

    /// <summary>Parses <c>machine/unit</c> or <c>unit</c>. Throws <c>InvalidUnitId</c> for an empty part.</summary>
    public static UnitAddress Parse(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var text = id.Trim();
        int at = text.IndexOf(Separator);
        if (at < 0)
        {
            if (text.Length == 0) throw Invalid(id, "it is empty");
            return new UnitAddress(null, text);
        }
        var machine = text[..at].Trim();
        var unit = text[(at + 1)..].Trim();
        if (machine.Length == 0) throw Invalid(id, "the machine name before the '/' is empty");
        if (unit.Length == 0) throw Invalid(id, "the unit id after the '/' is empty");
        if (unit.Contains(Separator)) throw Invalid(id, "it has more than one '/'");
        return new UnitAddress(machine, unit);
    }

    /// <summary><c>machine/unit</c>.</summary>
    public static string Qualify(string machineName, string unit) =>
        string.IsNullOrEmpty(machineName) ? unit : machineName + Separator + unit;

    /// <summary>True when <paramref name="machineName"/> names this machine (its name, <c>localhost</c> or <c>.</c>).</summary>
    public static bool IsThisMachine(string? machineName) =>
        machineName is not null && (string.Equals(machineName, Environment.MachineName, StringComparison.OrdinalIgnoreCase)
                                    || string.Equals(machineName, "localhost", StringComparison.OrdinalIgnoreCase)
                                    || machineName == ".");

    /// <summary>True when the machine part (if any) matches <paramref name="machineName"/> or one of <paramref name="aliases"/>.</summary>
    public bool IsOn(string machineName, params string?[] aliases)
    {
        var mine = MachineName;
        return mine is null
            || string.Equals(mine, machineName, StringComparison.OrdinalIgnoreCase)
            || aliases.Any(a => a is not null && string.Equals(mine, a, StringComparison.OrdinalIgnoreCase));
    }

    public override string ToString() => MachineName is null ? Unit : Qualify(MachineName, Unit);

    private static HeteroBatchException Invalid(string id, string why) =>
        new(UnitErrorIds.InvalidUnitId, ErrorKind.InvalidArgument,
            $"The unit id '{id}' is not valid: {why}. Write a unit as 'gpu0', or with its machine as 'node1/gpu0'.", id);
}

/// <summary>Stable ErrorIds about unit ids and machines.</summary>
public static class UnitErrorIds
{
    /// <summary>No unit with this id on the machine (see <see cref="ComputeUnitCatalog.Find"/>).</summary>
    public const string UnitNotFound = "UnitNotFound";
    /// <summary>A unit id is malformed (empty machine or unit part, several slashes).</summary>
    public const string InvalidUnitId = "InvalidUnitId";
    /// <summary>A unit id names a machine that no session, host or table row stands for.</summary>
    public const string UnknownMachine = "UnknownMachine";
}
