namespace HeteroBatch.Engine.Charts;

/// <summary>Stable ErrorIds raised while reading chart input and writing charts. Never rename one.</summary>
public static class ChartErrorIds
{
    /// <summary>Nothing to draw: no rows, no plan, no result (or only rows without a usable measurement).</summary>
    public const string NoChartInput = "NoChartInput";
    /// <summary>An object or file is none of: performance-table rows, a plan, an inference result.</summary>
    public const string UnrecognizedChartInput = "UnrecognizedChartInput";
    /// <summary>Rows and plans (or results) were given together; one picture shows one kind.</summary>
    public const string MixedChartInput = "MixedChartInput";
    /// <summary>More than one plan or result was given; one file shows one.</summary>
    public const string TooManyChartInputs = "TooManyChartInputs";
    /// <summary>The rows hold several models and none was chosen.</summary>
    public const string AmbiguousChartModel = "AmbiguousChartModel";
    /// <summary>The chosen model has no rows in the input.</summary>
    public const string ChartModelNotFound = "ChartModelNotFound";
    /// <summary>The input file does not exist.</summary>
    public const string ChartInputNotFound = "ChartInputNotFound";
    /// <summary>The input file could not be read (permissions, I/O).</summary>
    public const string ChartInputReadFailed = "ChartInputReadFailed";
    /// <summary>The input file is JSON or CSV that does not parse, or a row or plan in it is incomplete.</summary>
    public const string ChartInputCorrupt = "ChartInputCorrupt";
    /// <summary>The output format is neither SVG nor PNG (from -Format or the file extension).</summary>
    public const string UnknownChartFormat = "UnknownChartFormat";
    /// <summary>Width or height outside the supported range.</summary>
    public const string InvalidChartSize = "InvalidChartSize";
    /// <summary>The chart file could not be written (missing folder, no permission, disk full).</summary>
    public const string ChartWriteFailed = "ChartWriteFailed";
    /// <summary>The charting library failed while laying out or drawing the chart (a defect: report it).</summary>
    public const string ChartRenderFailed = "ChartRenderFailed";
    /// <summary>PNG needs the native SkiaSharp library, which could not be loaded on this machine.</summary>
    public const string PngRendererUnavailable = "PngRendererUnavailable";
}
