namespace HeteroBatch.Engine.Table;

/// <summary>Which number a matrix cell shows.</summary>
public enum PerfMatrixValue
{
    TotalMs,
    ExecMs,
    IoMs,
    MsPerItem,
    ItemsPerSecond,
}

/// <summary>One batch size of a <see cref="PerfMatrix"/>: a cell per column, null where nothing usable was measured.</summary>
public sealed record PerfMatrixRow(int BatchSize, IReadOnlyDictionary<string, double?> Cells);

/// <summary>
/// The table pivoted as the seed's print_table.py shows it: one row per batch size, one column per unit,
/// milliseconds in the cells. A column names the unit, prefixed by machine (<c>node1/gpu0</c>) when the
/// rows span machines, by model (<c>resnet-50:gpu0</c>) when they span models, and suffixed by backend
/// options (<c>cpu [threads=2]</c>) or backend when those differ for one unit. OutOfMemory rows give null
/// cells (the unit cannot run that size).
/// </summary>
public sealed class PerfMatrix
{
    private PerfMatrix(IReadOnlyList<string> columns, IReadOnlyList<PerfMatrixRow> rows, PerfMatrixValue value)
    {
        Columns = columns;
        Rows = rows;
        Value = value;
    }

    public IReadOnlyList<string> Columns { get; }
    public IReadOnlyList<PerfMatrixRow> Rows { get; }
    public PerfMatrixValue Value { get; }

    /// <summary>Builds the pivot of <paramref name="rows"/>.</summary>
    public static PerfMatrix Build(IEnumerable<PerfEntry> rows, PerfMatrixValue value = PerfMatrixValue.TotalMs)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows.ToList();
        var series = list
            .Select(e => new Series(e.MachineName, PerfKey.ModelIdentityOf(e), e.Model, e.Unit, e.Backend ?? "", e.BackendOptions ?? ""))
            .Distinct(SeriesComparer.Instance)
            .OrderBy(s => s.Machine, StringComparer.OrdinalIgnoreCase)
            .ThenBy(s => s.ModelName, StringComparer.OrdinalIgnoreCase)
            .ThenBy(s => s.Unit, StringComparer.OrdinalIgnoreCase)
            .ThenBy(s => s.Backend, StringComparer.OrdinalIgnoreCase)
            .ThenBy(s => s.Options, StringComparer.OrdinalIgnoreCase)
            .ToList();

        bool manyMachines = series.Select(s => s.Machine).Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1;
        bool manyModels = series.Select(s => s.ModelId).Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1;
        var labels = new Dictionary<Series, string>(SeriesComparer.Instance);
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in series)
        {
            var sameUnit = series.Where(o => PerfFilter.Same(o.Machine, s.Machine) && PerfFilter.Same(o.ModelId, s.ModelId) && PerfFilter.Same(o.Unit, s.Unit)).ToList();
            var label = s.Unit;
            if (manyMachines) label = s.Machine + "/" + label;
            if (manyModels) label = s.ModelName + ":" + label;
            if (sameUnit.Select(o => o.Backend).Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1) label += " (" + s.Backend + ")";
            if (sameUnit.Select(o => o.Options).Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1 && s.Options.Length > 0) label += " [" + s.Options + "]";
            var unique = label;
            for (int n = 2; !used.Add(unique); n++) unique = label + " #" + n;
            labels[s] = unique;
        }

        var columns = series.Select(s => labels[s]).ToArray();
        var matrixRows = list
            .GroupBy(e => e.BatchSize)
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var cells = new OrderedDictionary<string, double?>(StringComparer.OrdinalIgnoreCase);
                foreach (var c in columns) cells[c] = null;
                foreach (var e in g.OrderBy(e => e.Timestamp))
                {
                    var label = labels[new Series(e.MachineName, PerfKey.ModelIdentityOf(e), e.Model, e.Unit, e.Backend ?? "", e.BackendOptions ?? "")];
                    cells[label] = CellValue(e, value);
                }
                return new PerfMatrixRow(g.Key, cells);
            })
            .ToArray();
        return new PerfMatrix(columns, matrixRows, value);
    }

    /// <summary>
    /// The matrix as ordered dictionaries, <c>BatchSize</c> first then one entry per column, ready to be
    /// turned into PSObjects.
    /// </summary>
    public IReadOnlyList<OrderedDictionary<string, object?>> ToDictionaries() =>
        Rows.Select(r =>
        {
            var d = new OrderedDictionary<string, object?> { ["BatchSize"] = r.BatchSize };
            foreach (var c in Columns) d[c] = r.Cells.TryGetValue(c, out var v) ? v : null;
            return d;
        }).ToArray();

    private static double? CellValue(PerfEntry e, PerfMatrixValue value)
    {
        if (string.Equals(e.Status, PerfStatus.OutOfMemory, StringComparison.OrdinalIgnoreCase)) return null;
        return value switch
        {
            PerfMatrixValue.ExecMs => e.ExecMs,
            PerfMatrixValue.IoMs => e.IoMs,
            PerfMatrixValue.MsPerItem => e.MsPerItem,
            PerfMatrixValue.ItemsPerSecond => e.ItemsPerSecond,
            _ => e.TotalMs,
        };
    }

    private sealed record Series(string Machine, string ModelId, string ModelName, string Unit, string Backend, string Options);

    private sealed class SeriesComparer : IEqualityComparer<Series>
    {
        public static readonly SeriesComparer Instance = new();
        public bool Equals(Series? a, Series? b) =>
            a is not null && b is not null &&
            PerfFilter.Same(a.Machine, b.Machine) && PerfFilter.Same(a.ModelId, b.ModelId) && PerfFilter.Same(a.Unit, b.Unit) &&
            PerfFilter.Same(a.Backend, b.Backend) && PerfFilter.Same(a.Options, b.Options);
        public int GetHashCode(Series s) => HashCode.Combine(
            s.Machine.Trim().ToUpperInvariant(), s.ModelId.Trim().ToUpperInvariant(), s.Unit.Trim().ToUpperInvariant(),
            s.Backend.Trim().ToUpperInvariant(), s.Options.Trim().ToUpperInvariant());
    }
}
