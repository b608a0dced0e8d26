namespace HeteroBatch.Engine.Table;

/// <summary>
/// A snapshot of a perf table as read from its file: the rows (sorted by machine, model, unit, backend,
/// options, batch size) and the table's history limit. Usable directly as a list of rows.
/// </summary>
public sealed class PerfTable : IReadOnlyList<PerfEntry>
{
    private readonly IReadOnlyList<PerfEntry> _entries;

    public PerfTable(IEnumerable<PerfEntry> entries, int historyLimit = PerfTableStore.DefaultHistoryLimit, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfNegative(historyLimit);
        _entries = entries.ToArray();
        HistoryLimit = historyLimit;
        Path = path;
    }

    /// <summary>How many older measurements each row keeps.</summary>
    public int HistoryLimit { get; }
    /// <summary>The file the snapshot came from; null for an in-memory table.</summary>
    public string? Path { get; }
    public IReadOnlyList<PerfEntry> Entries => _entries;

    public int Count => _entries.Count;
    public PerfEntry this[int index] => _entries[index];
    public IEnumerator<PerfEntry> GetEnumerator() => _entries.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The row with <paramref name="key"/>, or null.</summary>
    public PerfEntry? Find(PerfKey key) => _entries.FirstOrDefault(e => PerfKey.Of(e) == key);

    /// <summary>Rows meeting <paramref name="filter"/>.</summary>
    public IReadOnlyList<PerfEntry> Query(PerfFilter filter) => PerfQueries.Where(_entries, filter).ToArray();

    /// <summary>Distinct machine names in the table.</summary>
    public IReadOnlyList<string> Machines =>
        _entries.Select(e => e.MachineName).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToArray();
}
