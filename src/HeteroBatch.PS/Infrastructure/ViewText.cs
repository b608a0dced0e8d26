using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Text;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>
/// Text layout for the module's custom views (HeteroBatch.Format.ps1xml). A custom view that nests a table
/// cannot leave the table to <c>Out-String</c>: without a width it takes the host's (80 columns when output is
/// redirected) and squeezes columns until headers wrap ("Fa/il/ed") and values become "…". These helpers lay
/// tables and text out to a known width instead: never wider than <see cref="MaxWidth"/> nor than the host,
/// headers whole, a long last column wrapped rather than cut.
/// </summary>
public static class ViewText
{
    /// <summary>Views never render wider than this, wherever they are rendered (a log, Out-String -Width 120).</summary>
    public const int MaxWidth = 120;
    /// <summary>The narrowest layout tried; a host narrower than this still gets this width.</summary>
    public const int MinWidth = 40;

    /// <summary>
    /// The width to lay a view out in: one less than the host's line width (a line that fills the line
    /// exactly would wrap on some hosts), at most <see cref="MaxWidth"/>; <see cref="MaxWidth"/> when the host
    /// has no console (a runspace, a remote session).
    /// </summary>
    public static int Width(object? host)
    {
        int width = 0;
        try
        {
            if ((host is PSObject pso ? pso.BaseObject : host) is PSHost h && h.UI?.RawUI is { } raw)
                width = raw.BufferSize.Width;
        }
        catch (Exception ex) when (ex is NotImplementedException or NotSupportedException or InvalidOperationException or IOException or HostException) { }
        if (width <= 0) return MaxWidth;
        return Math.Clamp(width - 1, MinWidth, MaxWidth);
    }

    /// <summary>
    /// A table of <paramref name="rows"/> (objects whose properties, in order, are the columns; the first row
    /// names them) in at most <paramref name="width"/> columns: a header line, a dash line and one line per row
    /// (more when the last column wraps). Columns named in <paramref name="rightAligned"/> (comma-separated) are
    /// right-aligned. When the natural layout is too wide, the last column wraps at spaces and commas, then the
    /// left-aligned (text) columns are narrowed, the widest first, their values cut with "…", then columns are
    /// dropped from the right. Headers are never cut or wrapped. Returns "" for no rows.
    /// </summary>
    public static string Table(int width, object[]? rows, string? rightAligned = null)
    {
        if (rows is null || rows.Length == 0) return "";
        width = Math.Max(width, 10);
        var first = rows[0] is PSObject p ? p : PSObject.AsPSObject(rows[0]);
        var names = first.Properties.Select(pr => pr.Name).ToList();
        if (names.Count == 0) return "";
        var right = new HashSet<string>((rightAligned ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);
        var cells = rows.Select(r =>
        {
            var o = r is PSObject po ? po : PSObject.AsPSObject(r);
            return names.Select(n => Clean(o.Properties[n]?.Value)).ToArray();
        }).ToList();

        var widths = names.Select((n, i) => Math.Max(n.Length, cells.Max(c => c[i].Length))).ToArray();
        int columns = names.Count;
        int Total(int count) => widths.Take(count).Sum() + count - 1;

        // 1. The last column wraps down to its header's width (at least 10).
        if (Total(columns) > width)
        {
            int last = columns - 1;
            int rest = Total(columns) - widths[last];
            widths[last] = Math.Max(Math.Max(names[last].Length, Math.Min(10, widths[last])), width - rest - 1);
        }
        // 2. Text columns (left-aligned: names, batch lists), the widest first, narrow to their header (at least
        //    8); their values are cut with "…". Numbers are never cut.
        int Min(int i) => Math.Max(names[i].Length, Math.Min(8, widths[i]));
        while (Total(columns) > width)
        {
            int widest = -1;
            for (int i = 0; i < columns - 1; i++)
                if (!right.Contains(names[i]) && widths[i] > Min(i) && (widest < 0 || widths[i] > widths[widest])) widest = i;
            if (widest < 0) break;
            widths[widest]--;
        }
        // 3. Drop columns from the right.
        while (columns > 1 && Total(columns) > width) columns--;

        var sb = new StringBuilder();
        void Line(IEnumerable<string> parts) => sb.Append(string.Join(' ', parts).TrimEnd()).Append('\n');
        string Pad(string text, int i) => right.Contains(names[i]) ? text.PadLeft(widths[i]) : text.PadRight(widths[i]);

        Line(Enumerable.Range(0, columns).Select(i => Pad(names[i], i)));
        Line(Enumerable.Range(0, columns).Select(i => Pad(new string('-', names[i].Length), i)));
        bool lastKept = columns == names.Count;
        foreach (var row in cells)
        {
            var lastLines = lastKept ? WrapLines(row[columns - 1], widths[columns - 1], preferCommas: true) : new List<string> { Cut(row[columns - 1], widths[columns - 1]) };
            for (int k = 0; k < lastLines.Count; k++)
            {
                Line(Enumerable.Range(0, columns).Select(i =>
                    i == columns - 1 ? Pad(lastLines[k], i) : Pad(k == 0 ? (i == 0 ? CutStart(row[i], widths[i]) : Cut(row[i], widths[i])) : "", i)));
            }
        }
        return sb.ToString().TrimEnd('\n');
    }

    /// <summary><paramref name="text"/> word-wrapped to <paramref name="width"/> columns; continuation lines start with <paramref name="indent"/>.</summary>
    public static string Wrap(string? text, int width, string? indent = null)
    {
        indent ??= "";
        var lines = new List<string>();
        foreach (var paragraph in (text ?? "").Replace("\r", "").Split('\n'))
        {
            var wrapped = WrapLines(paragraph, Math.Max(10, width));
            for (int i = 0; i < wrapped.Count; i++)
            {
                if (i == 0 || indent.Length == 0) { lines.Add(wrapped[i]); continue; }
                // Re-wrap the remainder with the indent taken off the width.
                var rest = string.Join(' ', wrapped.Skip(i));
                lines.AddRange(WrapLines(rest, Math.Max(10, width - indent.Length)).Select(l => indent + l));
                break;
            }
        }
        return string.Join('\n', lines);
    }

    /// <summary>Executed batch sizes, runs of three or more equal sizes written <c>count×size</c> ("4x128,86").</summary>
    public static string BatchSizes(object? sizes)
    {
        var list = (LanguagePrimitives.GetEnumerable(sizes is PSObject p ? p.BaseObject : sizes) ?? Array.Empty<object>())
            .Cast<object?>().Select(o => Convert.ToInt64(o is PSObject q ? q.BaseObject : o, CultureInfo.InvariantCulture)).ToList();
        var parts = new List<string>();
        for (int i = 0; i < list.Count;)
        {
            int j = i;
            while (j < list.Count && list[j] == list[i]) j++;
            int run = j - i;
            if (run >= 3) parts.Add($"{run}x{list[i].ToString(CultureInfo.InvariantCulture)}");
            else parts.AddRange(Enumerable.Repeat(list[i].ToString(CultureInfo.InvariantCulture), run));
            i = j;
        }
        return string.Join(',', parts);
    }

    /// <summary>A score (softmax probability, logit) with four significant digits: 0.2928, 0.001234, 1.234E-05.</summary>
    public static string Score(double value) => value.ToString("G4", CultureInfo.CurrentCulture);

    private static string Clean(object? value)
    {
        var v = value is PSObject p ? p.BaseObject : value;
        var text = v switch
        {
            null => "",
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.CurrentCulture),
            _ => LanguagePrimitives.ConvertTo<string>(v) ?? "",
        };
        return text.Replace("\r", "").Replace('\n', ' ').Replace('\t', ' ').Trim();
    }

    private static string Cut(string text, int width)
        => text.Length <= width ? text : width <= 1 ? "…" : text[..(width - 1)] + "…";

    // The first column names the row (a unit such as "node7/gpu0"): its end tells rows apart, so it keeps that.
    private static string CutStart(string text, int width)
        => text.Length <= width ? text : width <= 1 ? "…" : "…" + text[^(width - 1)..];

    private static List<string> WrapLines(string text, int width, bool preferCommas = false)
    {
        var lines = new List<string>();
        text = text.TrimEnd();
        while (text.Length > width)
        {
            // Break after the last space or comma that fits; a word longer than the line is cut hard.
            int at = -1;
            // A list ("4: 0.29, 3: 0.21") breaks between its entries when one ends in the second half of the line.
            if (preferCommas)
                for (int i = Math.Min(width, text.Length - 1); i > width / 2; i--)
                    if (text[i - 1] == ',') { at = i; break; }
            if (at < 0)
                for (int i = Math.Min(width, text.Length - 1); i > 0; i--)
                {
                    if (text[i] == ' ') { at = i; break; }
                    if (text[i - 1] == ',') { at = i; break; }
                }
            if (at <= 0) at = width;
            lines.Add(text[..at].TrimEnd());
            text = text[at..].TrimStart();
        }
        lines.Add(text);
        return lines;
    }
}
