using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Charts;

/// <summary>What a chart is drawn from: performance-table rows, one plan, or one inference result.</summary>
public sealed record ChartInput
{
    /// <summary>Which of <see cref="Rows"/>, <see cref="Plan"/> or <see cref="Result"/> is set.</summary>
    public required ChartKind Kind { get; init; }
    /// <summary>Rows, for <see cref="ChartKind.PerfTable"/>.</summary>
    public IReadOnlyList<PerfEntry> Rows { get; init; } = Array.Empty<PerfEntry>();
    /// <summary>The plan, for <see cref="ChartKind.Plan"/>.</summary>
    public BatchPlan? Plan { get; init; }
    /// <summary>The result, for <see cref="ChartKind.Result"/>.</summary>
    public InferenceResult? Result { get; init; }

    /// <summary>
    /// The input made of objects gathered from a pipeline: rows, or exactly one plan, or exactly one result.
    /// </summary>
    /// <exception cref="HeteroBatchException">NoChartInput (nothing), MixedChartInput (several kinds), TooManyChartInputs (several plans or results).</exception>
    public static ChartInput Combine(IReadOnlyCollection<PerfEntry> rows, IReadOnlyList<BatchPlan> plans, IReadOnlyList<InferenceResult> results)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(plans);
        ArgumentNullException.ThrowIfNull(results);
        int kinds = (rows.Count > 0 ? 1 : 0) + (plans.Count > 0 ? 1 : 0) + (results.Count > 0 ? 1 : 0);
        if (kinds == 0)
            throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidArgument,
                "Nothing to draw: the input was empty. Pipe Get-PerfTable rows (measure with Measure-BatchProfile -Save first), a Split-Batch plan or an Invoke-HeteroInference result, or give -InputPath.");
        if (kinds > 1)
            throw new HeteroBatchException(ChartErrorIds.MixedChartInput, ErrorKind.InvalidArgument,
                $"The input mixes {rows.Count} table row(s), {plans.Count} plan(s) and {results.Count} result(s); one chart shows one kind. Draw each kind to its own file.");
        if (plans.Count > 1) throw ChartInputReader.TooMany($"The input", plans.Count, ChartKind.Plan);
        if (results.Count > 1) throw ChartInputReader.TooMany($"The input", results.Count, ChartKind.Result);
        if (plans.Count == 1) return new ChartInput { Kind = ChartKind.Plan, Plan = plans[0] };
        if (results.Count == 1) return new ChartInput { Kind = ChartKind.Result, Result = results[0] };
        return new ChartInput { Kind = ChartKind.PerfTable, Rows = rows.ToArray() };
    }

    /// <summary>Builds the chart this input calls for.</summary>
    public Chart Build(ChartOptions? options = null) => Kind switch
    {
        ChartKind.Plan => ChartBuilder.Plan(Plan!, options),
        ChartKind.Result => ChartBuilder.Result(Result!, options),
        _ => ChartBuilder.PerfTable(Rows, options),
    };
}

/// <summary>
/// Reads chart input from files — a performance table (the table file itself, a JSON array of rows as
/// <c>Get-PerfTable | ConvertTo-Json</c> writes it, or a CSV as <c>Get-PerfTable | Export-Csv</c> writes it), a plan
/// or a result as JSON (<c>ConvertTo-Json -Depth 6</c>) — and turns loose property bags into table rows.
/// </summary>
public static class ChartInputReader
{
    /// <summary>JSON options for plans and results written by PowerShell's ConvertTo-Json or System.Text.Json.</summary>
    public static readonly JsonSerializerOptions RecordJsonOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>Reads <paramref name="path"/>: JSON (by content) or CSV.</summary>
    /// <exception cref="HeteroBatchException">ChartInputNotFound, ChartInputReadFailed, ChartInputCorrupt, UnrecognizedChartInput, TooManyChartInputs.</exception>
    public static ChartInput ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full) || !File.Exists(full))
            throw new HeteroBatchException(ChartErrorIds.ChartInputNotFound, ErrorKind.ObjectNotFound,
                $"The chart input '{full}' does not exist. Give a performance-table JSON or CSV file, or a plan or result saved as JSON.", full);
        string text;
        try { text = File.ReadAllText(full, Encoding.UTF8); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(ChartErrorIds.ChartInputReadFailed, ErrorKind.ReadError, $"Cannot read '{full}': {ex.Message}", full, ex);
        }
        var trimmed = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (trimmed.Length == 0)
            throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData, $"'{full}' is empty: there is nothing to draw.", full);
        return trimmed[0] is '{' or '[' ? ReadJson(trimmed, full) : ReadCsv(trimmed, full);
    }

    /// <summary>Reads chart input from JSON text: a table document, an array of rows, a plan or a result.</summary>
    public static ChartInput ReadJson(string json, string source = "JSON")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, DocumentOptions); }
        catch (JsonException ex)
        {
            throw Corrupt(source, $"it is not valid JSON ({ex.Message})", ex);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && Has(root, "entries") && Get(root, "entries").ValueKind == JsonValueKind.Array)
                return new ChartInput { Kind = ChartKind.PerfTable, Rows = RowsFrom(Get(root, "entries"), source) };
            if (root.ValueKind == JsonValueKind.Array)
            {
                var items = root.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).ToList();
                if (items.Count == 0) throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData, $"{source} holds no objects to draw.", source);
                var kinds = items.Select(KindOf).Distinct().ToList();
                if (kinds.Contains(null)) throw Unrecognized(source);
                if (kinds.Count > 1)
                    throw new HeteroBatchException(ChartErrorIds.MixedChartInput, ErrorKind.InvalidArgument,
                        $"{source} mixes performance-table rows, plans and results; one chart shows one kind.", source);
                if (kinds[0] == ChartKind.PerfTable) return new ChartInput { Kind = ChartKind.PerfTable, Rows = RowsFrom(root, source) };
                if (items.Count > 1) throw TooMany(source, items.Count, kinds[0]!.Value);
                return Record(items[0].GetRawText(), kinds[0]!.Value, source);
            }
            if (root.ValueKind == JsonValueKind.Object)
            {
                var kind = KindOf(root) ?? throw Unrecognized(source);
                if (kind == ChartKind.PerfTable) return new ChartInput { Kind = kind, Rows = new[] { RowFrom(root, source, 1) } };
                return Record(root.GetRawText(), kind, source);
            }
            throw Unrecognized(source);
        }
    }

    /// <summary>Reads a CSV with a header line (comma or semicolon separated, quoted as Export-Csv writes it).</summary>
    public static ChartInput ReadCsv(string csv, string source = "CSV")
    {
        var lines = ParseCsv(csv, source);
        // Windows PowerShell 5.1 starts with "#TYPE ..." unless -NoTypeInformation.
        while (lines.Count > 0 && (lines[0].Count == 0 || lines[0][0].StartsWith('#'))) lines.RemoveAt(0);
        if (lines.Count == 0) throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData, $"{source} has no header line.", source);
        var header = lines[0].Select(h => h.Trim()).ToList();
        if (!header.Contains("Unit", StringComparer.OrdinalIgnoreCase) || !header.Contains("BatchSize", StringComparer.OrdinalIgnoreCase))
            throw new HeteroBatchException(ChartErrorIds.UnrecognizedChartInput, ErrorKind.InvalidData,
                $"{source} is not a performance table: its header must name at least Unit, BatchSize and ExecMs (or TotalMs), as Get-PerfTable | Export-Csv writes. It has: {string.Join(", ", header)}.", source);
        var rows = new List<PerfEntry>();
        for (int i = 1; i < lines.Count; i++)
        {
            var cells = lines[i];
            if (cells.Count == 1 && string.IsNullOrWhiteSpace(cells[0])) continue;
            var fields = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            for (int c = 0; c < header.Count && c < cells.Count; c++) fields[header[c]] = cells[c];
            rows.Add(PerfEntryFromFields(fields, $"{source}, line {i + 1}"));
        }
        if (rows.Count == 0) throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData, $"{source} has a header but no rows.", source);
        return new ChartInput { Kind = ChartKind.PerfTable, Rows = rows };
    }

    /// <summary>
    /// A table row from loose fields (Import-Csv, ConvertFrom-Json, a remote session): Unit, BatchSize and ExecMs
    /// (or TotalMs) are needed; Model, ModelHash, MachineName, DeviceName, Backend, BackendOptions, IoMs, Status are
    /// taken when present. Numbers may be numbers or text in the invariant culture.
    /// </summary>
    /// <exception cref="HeteroBatchException">ChartInputCorrupt naming <paramref name="where"/> and the field at fault.</exception>
    public static PerfEntry PerfEntryFromFields(IReadOnlyDictionary<string, object?> fields, string where)
    {
        ArgumentNullException.ThrowIfNull(fields);
        string Text(string name) => fields.TryGetValue(name, out var v) && v is not null ? Convert.ToString(v, CultureInfo.InvariantCulture)?.Trim() ?? "" : "";
        string unit = Text("Unit");
        if (unit.Length == 0) unit = Text("Id");
        if (unit.Length == 0) throw Corrupt(where, "the row names no Unit");
        int batch = (int)Number(fields, "BatchSize", where, required: true)!.Value;
        if (batch <= 0 || batch != Number(fields, "BatchSize", where, required: true)) throw Corrupt(where, $"BatchSize '{Text("BatchSize")}' is not a whole number ≥ 1");
        double io = Number(fields, "IoMs", where, required: false) ?? 0;
        double? exec = Number(fields, "ExecMs", where, required: false);
        if (exec is null && Number(fields, "TotalMs", where, required: false) is double total) exec = total - io;
        if (exec is null) throw Corrupt(where, "the row has neither ExecMs nor TotalMs");
        string status = Text("Status");
        return new PerfEntry
        {
            Model = Text("Model"),
            ModelHash = Text("ModelHash"),
            MachineName = Text("MachineName") is { Length: > 0 } m ? m : Text("PSComputerName"),
            Unit = unit,
            DeviceName = Text("DeviceName"),
            Backend = Text("Backend"),
            BackendOptions = Text("BackendOptions"),
            BatchSize = batch,
            ExecMs = exec.Value,
            IoMs = io,
            Status = status.Length > 0 ? status : PerfStatus.Ok,
            Timestamp = DateTimeOffset.TryParse(Text("Timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : DateTimeOffset.MinValue,
        };
    }

    /// <summary>What a JSON object or property bag is, by its property names; null when none fits.</summary>
    public static ChartKind? KindOf(IReadOnlyCollection<string> propertyNames)
    {
        bool Has(string n) => propertyNames.Contains(n, StringComparer.OrdinalIgnoreCase);
        if (Has("Shares") && Has("BatchSize")) return ChartKind.Plan;
        if (Has("Units") && Has("WallMs")) return ChartKind.Result;
        if ((Has("Unit") || Has("Id")) && Has("BatchSize") && (Has("ExecMs") || Has("TotalMs"))) return ChartKind.PerfTable;
        return null;
    }

    private static ChartKind? KindOf(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? KindOf(e.EnumerateObject().Select(p => p.Name).ToList()) : null;

    private static ChartInput Record(string json, ChartKind kind, string source)
    {
        try
        {
            return kind == ChartKind.Plan
                ? new ChartInput { Kind = kind, Plan = JsonSerializer.Deserialize<BatchPlan>(json, RecordJsonOptions) }
                : new ChartInput { Kind = kind, Result = JsonSerializer.Deserialize<InferenceResult>(json, RecordJsonOptions) };
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw Corrupt(source, $"the {(kind == ChartKind.Plan ? "plan" : "result")} in it cannot be read ({ex.Message}). " +
                "If ConvertTo-Json wrote it, give -Depth 6 or more: the default depth of 2 flattens the per-unit shares to text", ex);
        }
    }

    private static IReadOnlyList<PerfEntry> RowsFrom(JsonElement array, string source)
    {
        var rows = new List<PerfEntry>();
        int i = 0;
        foreach (var e in array.EnumerateArray())
        {
            i++;
            if (e.ValueKind != JsonValueKind.Object) continue;
            rows.Add(RowFrom(e, source, i));
        }
        if (rows.Count == 0) throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData, $"{source} holds no performance-table rows.", source);
        return rows;
    }

    private static PerfEntry RowFrom(JsonElement e, string source, int index)
    {
        var fields = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in e.EnumerateObject())
        {
            fields[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Number => p.Value.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => null,
            };
        }
        return PerfEntryFromFields(fields, $"{source}, row {index}");
    }

    private static double? Number(IReadOnlyDictionary<string, object?> fields, string name, string where, bool required)
    {
        if (!fields.TryGetValue(name, out var v) || v is null || (v is string s0 && string.IsNullOrWhiteSpace(s0)))
        {
            if (required) throw Corrupt(where, $"the row has no {name}");
            return null;
        }
        switch (v)
        {
            case double d: return Checked(d);
            case float f: return Checked(f);
            case int or long or short or byte or uint or ulong or ushort or sbyte or decimal: return Checked(Convert.ToDouble(v, CultureInfo.InvariantCulture));
        }
        var text = Convert.ToString(v, CultureInfo.InvariantCulture)!.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var inv)) return Checked(inv);
        // A CSV exported with -UseCulture may write decimal commas.
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.CurrentCulture, out var cur)) return Checked(cur);
        throw Corrupt(where, $"{name} '{text}' is not a number");

        double Checked(double d) => double.IsFinite(d) ? d : throw Corrupt(where, $"{name} is not a finite number");
    }

    /// <summary>RFC 4180 fields: quotes around fields, doubled quotes inside, line breaks inside quotes.</summary>
    private static List<List<string>> ParseCsv(string text, string source)
    {
        int firstBreak = text.IndexOfAny(new[] { '\r', '\n' });
        var headerLine = firstBreak < 0 ? text : text[..firstBreak];
        if (headerLine.StartsWith('#'))
        {
            int next = text.IndexOf('\n', firstBreak < 0 ? text.Length - 1 : firstBreak);
            headerLine = next < 0 ? "" : text[(next + 1)..].Split('\n')[0];
        }
        char sep = headerLine.Count(c => c == ';') > headerLine.Count(c => c == ',') ? ';' : ',';

        var lines = new List<List<string>>();
        var row = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                    else quoted = false;
                }
                else cell.Append(c);
                continue;
            }
            if (c == '"') quoted = true;
            else if (c == sep) { row.Add(cell.ToString()); cell.Clear(); }
            else if (c == '\r') { }
            else if (c == '\n') { row.Add(cell.ToString()); cell.Clear(); lines.Add(row); row = new List<string>(); }
            else cell.Append(c);
        }
        if (quoted) throw Corrupt(source, "a quoted field is not closed");
        if (cell.Length > 0 || row.Count > 0) { row.Add(cell.ToString()); lines.Add(row); }
        return lines;
    }

    private static bool Has(JsonElement o, string name) => o.EnumerateObject().Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
    private static JsonElement Get(JsonElement o, string name) => o.EnumerateObject().First(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Value;

    private static HeteroBatchException Corrupt(string where, string what, Exception? inner = null) =>
        new(ChartErrorIds.ChartInputCorrupt, ErrorKind.InvalidData, $"Cannot draw {where}: {what}.", where, inner);

    private static HeteroBatchException Unrecognized(string source) =>
        new(ChartErrorIds.UnrecognizedChartInput, ErrorKind.InvalidData,
            $"{source} is none of: a performance table (rows with Unit, BatchSize, ExecMs), a plan (Split-Batch) or a result (Invoke-HeteroInference).", source);

    internal static HeteroBatchException TooMany(string source, int count, ChartKind kind) =>
        new(ChartErrorIds.TooManyChartInputs, ErrorKind.InvalidArgument,
            $"{source} holds {count} {(kind == ChartKind.Plan ? "plans" : "results")}; one chart shows one. Draw each to its own file, e.g. " +
            "$items | ForEach-Object { $_ | Export-PerfChart -Path \"chart-$($_.BatchSize).svg\" }.", count);
}
