using HeteroBatch.Engine.Models;

namespace HeteroBatch.Engine.Table;

/// <summary>
/// Selects perf-table rows; every criterion left null matches all rows. Text compares case-insensitively.
/// </summary>
public sealed record PerfFilter
{
    /// <summary>Model name, full hash, or a hash prefix of at least 8 hex digits (e.g. the ShortHash).</summary>
    public string? Model { get; init; }
    public string? Unit { get; init; }
    public string? MachineName { get; init; }
    public int? BatchSize { get; init; }
    public string? Backend { get; init; }
    public string? DeviceName { get; init; }
    /// <summary>Backend options in key form (<c>threads=2</c>); empty text selects default options.</summary>
    public string? BackendOptions { get; init; }
    public string? Status { get; init; }

    /// <summary>True when <paramref name="entry"/> meets every criterion given.</summary>
    public bool Matches(PerfEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (Model is not null && !PerfQueries.MatchesModel(entry, Model)) return false;
        if (Unit is not null && !Same(entry.Unit, Unit)) return false;
        if (MachineName is not null && !Same(entry.MachineName, MachineName)) return false;
        if (BatchSize is { } b && entry.BatchSize != b) return false;
        if (Backend is not null && !Same(entry.Backend, Backend)) return false;
        if (DeviceName is not null && !Same(entry.DeviceName, DeviceName)) return false;
        if (BackendOptions is not null &&
            !Same(Table.BackendOptions.Parse(entry.BackendOptions).Key, Table.BackendOptions.Parse(BackendOptions).Key)) return false;
        if (Status is not null && !Same(entry.Status, Status)) return false;
        return true;
    }

    internal static bool Same(string? a, string? b) =>
        string.Equals((a ?? "").Trim(), (b ?? "").Trim(), StringComparison.OrdinalIgnoreCase);
}

/// <summary>Query helpers over any sequence of rows (a table, an imported CSV, rows from remote machines).</summary>
public static class PerfQueries
{
    /// <summary>Rows meeting <paramref name="filter"/>.</summary>
    public static IEnumerable<PerfEntry> Where(this IEnumerable<PerfEntry> rows, PerfFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return rows.Where(filter.Matches);
    }

    /// <summary>
    /// Rows of <paramref name="model"/>: those with its hash, and hash-less rows (imported) with its name.
    /// Rows of another version of a same-named model (different hash) are left out.
    /// </summary>
    public static IEnumerable<PerfEntry> ForModel(this IEnumerable<PerfEntry> rows, ModelInfo model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return rows.Where(e => MatchesModel(e, model));
    }

    /// <summary>Rows whose model name, hash, or hash prefix (8+ hex digits) is <paramref name="nameOrHash"/>.</summary>
    public static IEnumerable<PerfEntry> ForModel(this IEnumerable<PerfEntry> rows, string nameOrHash) =>
        rows.Where(e => MatchesModel(e, nameOrHash));

    /// <summary>Rows of one unit (id as in the table, e.g. <c>gpu0</c>), optionally of one machine.</summary>
    public static IEnumerable<PerfEntry> ForUnit(this IEnumerable<PerfEntry> rows, string unit, string? machineName = null) =>
        rows.Where(e => PerfFilter.Same(e.Unit, unit) && (machineName is null || PerfFilter.Same(e.MachineName, machineName)));

    /// <summary>Rows measured on <paramref name="machineName"/>.</summary>
    public static IEnumerable<PerfEntry> ForMachine(this IEnumerable<PerfEntry> rows, string machineName) =>
        rows.Where(e => PerfFilter.Same(e.MachineName, machineName));

    /// <summary>Rows of one batch size.</summary>
    public static IEnumerable<PerfEntry> ForBatchSize(this IEnumerable<PerfEntry> rows, int batchSize) =>
        rows.Where(e => e.BatchSize == batchSize);

    /// <summary>True when the row belongs to the model (hash match, or a hash-less row of the same name).</summary>
    public static bool MatchesModel(PerfEntry entry, ModelInfo model)
    {
        if (!string.IsNullOrWhiteSpace(entry.ModelHash))
            return string.Equals(entry.ModelHash.Trim(), model.Hash, StringComparison.OrdinalIgnoreCase);
        return PerfFilter.Same(entry.Model, model.Name);
    }

    /// <summary>True when the row's model name or hash (or a hash prefix of 8+ hex digits) is <paramref name="nameOrHash"/>.</summary>
    public static bool MatchesModel(PerfEntry entry, string nameOrHash)
    {
        var wanted = (nameOrHash ?? "").Trim();
        if (wanted.Length == 0) return false;
        if (PerfFilter.Same(entry.Model, wanted)) return true;
        var hash = (entry.ModelHash ?? "").Trim();
        if (hash.Length == 0) return false;
        if (string.Equals(hash, wanted, StringComparison.OrdinalIgnoreCase)) return true;
        return wanted.Length >= 8 && wanted.All(Uri.IsHexDigit) && hash.StartsWith(wanted, StringComparison.OrdinalIgnoreCase);
    }
}
