using System.Text;
using System.Xml;
using System.Xml.Linq;
using HeteroBatch.Engine.Errors;
using OxyPlot;

namespace HeteroBatch.Engine.Charts;

/// <summary>
/// A built chart: an OxyPlot model with what it shows, written as SVG (managed, everywhere) or PNG (SkiaSharp).
/// Build one with <see cref="ChartBuilder"/>.
/// </summary>
public sealed class Chart
{
    // Text is measured with Helvetica's metrics when the SVG is laid out; viewers pick the first font of
    // this list they have, all of about that width.
    internal const string SvgFontFamily = "Arial, Helvetica, Liberation Sans, DejaVu Sans, sans-serif";
    private static readonly string[] PngFontCandidates = { "Arial", "Liberation Sans", "Helvetica", "DejaVu Sans", "Segoe UI", "Noto Sans" };

    private readonly object _gate = new();

    internal Chart(PlotModel model, ChartKind kind, IReadOnlyList<string> units, string description)
    {
        Model = model;
        Kind = kind;
        Units = units;
        Description = description;
    }

    /// <summary>The OxyPlot model (for callers that render it elsewhere, e.g. in a window).</summary>
    public PlotModel Model { get; }
    /// <summary>What the chart shows.</summary>
    public ChartKind Kind { get; }
    /// <summary>The units drawn, one line or bar group each, in drawing order (as labelled in the legend or axis).</summary>
    public IReadOnlyList<string> Units { get; }
    /// <summary>One sentence saying what the chart shows; also the SVG's &lt;desc&gt;.</summary>
    public string Description { get; }
    /// <summary>The chart's title.</summary>
    public string Title => Model.Title ?? "";

    /// <summary>The format a path's extension asks for (.svg, .png), or <paramref name="explicitFormat"/> when given.</summary>
    /// <exception cref="HeteroBatchException">UnknownChartFormat when neither says SVG or PNG.</exception>
    public static ChartFormat FormatFor(string path, ChartFormat? explicitFormat = null)
    {
        if (explicitFormat is { } f) return f;
        var ext = Path.GetExtension(path ?? "").ToLowerInvariant();
        return ext switch
        {
            ".svg" => ChartFormat.Svg,
            ".png" => ChartFormat.Png,
            _ => throw new HeteroBatchException(ChartErrorIds.UnknownChartFormat, ErrorKind.InvalidArgument,
                $"Cannot tell the chart format from '{Path.GetFileName(path)}': name the file .svg or .png, or give -Format Svg or -Format Png.", path),
        };
    }

    /// <summary>The chart as an SVG document of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    public string ToSvg(int width = ChartOptions.DefaultWidth, int height = ChartOptions.DefaultHeight) =>
        ToSvg(width, height, measureWithSkia: IsPngAvailable(out _));

    /// <summary>The SVG, laid out with Skia's font metrics or (without the native library) widened PDF metrics.</summary>
    internal string ToSvg(int width, int height, bool measureWithSkia)
    {
        CheckSize(width, height);
        string raw;
        lock (_gate)
        {
            var font = Model.DefaultFont;
            Model.DefaultFont = SvgFontFamily;
            try
            {
                using var measurer = new SvgTextMeasurer(measureWithSkia ? PngFontFamily() : "Helvetica", measureWithSkia);
                var exporter = new SvgExporter { Width = width, Height = height, UseVerticalTextAlignmentWorkaround = true, TextMeasurer = measurer };
                raw = exporter.ExportToString(Model);
                ThrowIfRenderFailed();
            }
            finally { Model.DefaultFont = font; }
        }
        return Finish(raw, width, height);
    }

    /// <summary>Writes the chart as a PNG of exactly <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    /// <exception cref="HeteroBatchException">PngRendererUnavailable when SkiaSharp's native library cannot be loaded.</exception>
    public void WritePng(Stream stream, int width = ChartOptions.DefaultWidth, int height = ChartOptions.DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(stream);
        CheckSize(width, height);
        var family = PngFontFamily();
        lock (_gate)
        {
            var font = Model.DefaultFont;
            Model.DefaultFont = family;
            try
            {
                // Text shaping would need HarfBuzz's native library too; chart labels are plain Latin text.
                using var image = new MemoryStream();
                new OxyPlot.SkiaSharp.PngExporter { Width = width, Height = height, UseTextShaping = false }.Export(Model, image);
                ThrowIfRenderFailed();
                image.Position = 0;
                image.CopyTo(stream);
            }
            finally { Model.DefaultFont = font; }
        }
    }

    /// <summary>
    /// Writes the chart to <paramref name="path"/> (absolute, or relative to the process) atomically: a temporary
    /// file in the same folder is renamed over the target, so a failure never leaves a half-written chart.
    /// </summary>
    /// <exception cref="HeteroBatchException">ChartWriteFailed, InvalidChartSize, PngRendererUnavailable.</exception>
    public FileInfo Save(string path, ChartFormat format, int width = ChartOptions.DefaultWidth, int height = ChartOptions.DefaultHeight)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckSize(width, height);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw WriteFailed(full, $"'{full}' is a folder; give a file name such as '{Path.Combine(full, "chart." + format.ToString().ToLowerInvariant())}'.");
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
            throw WriteFailed(full, $"Cannot write the chart to '{full}': the folder '{folder}' does not exist. Create it first, or choose another -Path.");

        // Render first, so a renderer failure costs no file system change.
        byte[] bytes;
        if (format == ChartFormat.Png)
        {
            EnsurePngAvailable();
            using var buffer = new MemoryStream();
            WritePng(buffer, width, height);
            bytes = buffer.ToArray();
        }
        else bytes = new UTF8Encoding(false).GetBytes(ToSvg(width, height));

        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw WriteFailed(full, $"Cannot write the chart to '{full}': {ex.Message} Choose a folder you can write to.", ex);
        }
        return new FileInfo(full);
    }

    /// <summary>True when PNG can be drawn here; otherwise <paramref name="reason"/> says why.</summary>
    public static bool IsPngAvailable(out string? reason)
    {
        var probe = PngProbe.Value;
        reason = probe;
        return probe is null;
    }

    private static readonly Lazy<string?> PngProbe = new(() =>
    {
        try
        {
            using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(2, 2));
            return surface is null ? "SkiaSharp could not create a drawing surface." : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or BadImageFormatException or EntryPointNotFoundException)
        {
            return $"SkiaSharp's native library (libSkiaSharp) could not be loaded: {(ex.InnerException ?? ex).Message}";
        }
    });

    private static void EnsurePngAvailable()
    {
        if (!IsPngAvailable(out var reason))
            throw new HeteroBatchException(ChartErrorIds.PngRendererUnavailable, ErrorKind.NotInstalled,
                $"Cannot draw PNG on this machine: {reason} Write SVG instead (a .svg path, or -Format Svg).");
    }

    private static readonly Lazy<string> PngFamily = new(() =>
    {
        foreach (var name in PngFontCandidates)
        {
            using var typeface = SkiaSharp.SKFontManager.Default.MatchFamily(name);
            if (typeface is not null && string.Equals(typeface.FamilyName, name, StringComparison.OrdinalIgnoreCase)) return name;
        }
        return SkiaSharp.SKTypeface.Default.FamilyName;
    });

    private static string PngFontFamily() => PngFamily.Value;

    /// <summary>OxyPlot draws its own exceptions into the picture instead of throwing: never ship such a picture.</summary>
    private void ThrowIfRenderFailed()
    {
        if (Model.GetLastPlotException() is { } ex)
            throw new HeteroBatchException(ChartErrorIds.ChartRenderFailed, ErrorKind.InvalidOperation,
                $"The chart could not be drawn: {ex.Message}", Title, ex);
    }

    internal static void CheckSize(int width, int height)
    {
        if (width < ChartOptions.MinSize || width > ChartOptions.MaxSize || height < ChartOptions.MinSize || height > ChartOptions.MaxSize)
            throw new HeteroBatchException(ChartErrorIds.InvalidChartSize, ErrorKind.InvalidArgument,
                $"A chart of {width} x {height} pixels cannot be drawn: width and height must be between {ChartOptions.MinSize} and {ChartOptions.MaxSize}.",
                new[] { width, height });
    }

    private static HeteroBatchException WriteFailed(string path, string message, Exception? inner = null) =>
        new(ChartErrorIds.ChartWriteFailed, ErrorKind.WriteError, message, path, inner);

    /// <summary>Drops the DTD (not needed by SVG viewers, and refused by safe XML readers), adds a viewBox so the
    /// picture scales, and a title and description for screen readers and file browsers.</summary>
    private string Finish(string raw, int width, int height)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
        XDocument doc;
        using (var reader = XmlReader.Create(new StringReader(raw), settings)) doc = XDocument.Load(reader);
        doc.DocumentType?.Remove();
        var root = doc.Root!;
        XNamespace svg = "http://www.w3.org/2000/svg";
        root.SetAttributeValue("viewBox", $"0 0 {width} {height}");
        root.AddFirst(new XElement(svg + "title", Title), new XElement(svg + "desc", Description));
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(new StringWriter(text), new XmlWriterSettings { Indent = true, OmitXmlDeclaration = false, Encoding = Encoding.UTF8 }))
            doc.Save(writer);
        return text.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal);
    }
}
