namespace HeteroBatch.Engine.Charts;

/// <summary>File format of a chart.</summary>
public enum ChartFormat
{
    /// <summary>Scalable vector graphics, written by managed code (works everywhere).</summary>
    Svg,
    /// <summary>A bitmap, drawn by SkiaSharp (needs its native library, shipped for Linux and Windows x64).</summary>
    Png,
}

/// <summary>What the y axis of a performance-table chart shows.</summary>
public enum PerfChartMetric
{
    /// <summary>Milliseconds per item (total time of a batch / its size): lower is better.</summary>
    MsPerItem,
    /// <summary>Items per second (throughput): higher is better.</summary>
    ItemsPerSecond,
    /// <summary>Milliseconds for the whole batch (exec + I/O), as the performance table stores it.</summary>
    TotalMs,
}

/// <summary>What a chart shows.</summary>
public enum ChartKind
{
    /// <summary>Time against batch size, one line per unit.</summary>
    PerfTable,
    /// <summary>One bar per unit of a plan, with the makespan and the best single unit.</summary>
    Plan,
    /// <summary>One pair of bars (predicted, actual) per unit of a run, with the makespan and the best single unit.</summary>
    Result,
}

/// <summary>Options of the chart builders.</summary>
public sealed record ChartOptions
{
    /// <summary>Smallest and largest width or height, in pixels.</summary>
    public const int MinSize = 200, MaxSize = 10000;
    /// <summary>Default picture size, in pixels.</summary>
    public const int DefaultWidth = 960, DefaultHeight = 560;

    /// <summary>Title; null: one made from the input (model, batch size).</summary>
    public string? Title { get; init; }
    /// <summary>Y axis of a performance-table chart; ignored by plan and result charts.</summary>
    public PerfChartMetric Metric { get; init; } = PerfChartMetric.MsPerItem;
    /// <summary>Only rows of this model (name, hash or hash prefix); null: the rows must hold one model.</summary>
    public string? Model { get; init; }
}
