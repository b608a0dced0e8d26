using System.Globalization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Series;

namespace HeteroBatch.Engine.Charts;

/// <summary>
/// Builds the pictures of HeteroBatch: a performance table (time against batch size, one line per unit), a plan
/// (one bar per unit with the makespan and the best single unit), and a run (predicted against actual).
/// </summary>
public static class ChartBuilder
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // ---------------------------------------------------------------- performance table

    /// <summary>
    /// Time against batch size for each unit of one model: the measured points as dots, and between them the
    /// line the planner's cost model interpolates (<see cref="UnitCostCurve.DirectMs"/>: time per item linear
    /// between measured sizes). A unit's rows from several machines, option sets or model versions are separate
    /// lines; OutOfMemory/TooSlow rows end a unit's line and are named in its legend entry.
    /// </summary>
    /// <exception cref="HeteroBatchException">NoChartInput, AmbiguousChartModel, ChartModelNotFound, InvalidProfile.</exception>
    public static Chart PerfTable(IEnumerable<PerfEntry> rows, ChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        options ??= new ChartOptions();
        var all = rows.Where(r => r is not null && !string.IsNullOrWhiteSpace(r.Unit)).ToList();
        if (all.Count == 0)
            throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidArgument,
                "There are no performance-table rows to draw. Pipe rows from Get-PerfTable (measure them first with Measure-BatchProfile -Save), or give -InputPath.");

        var selected = SelectModel(all, options.Model);
        var groups = selected
            .GroupBy(r => new SourceKey(Upper(r.MachineName), Upper(r.Unit), r.BackendOptions ?? "", Upper(r.ModelHash)))
            .Select(g => (Key: g.Key, Rows: g.ToList(), First: g.First()))
            .OrderBy(g => g.First.Unit, StringComparer.OrdinalIgnoreCase)
            .ThenBy(g => g.First.MachineName, StringComparer.OrdinalIgnoreCase)
            .ThenBy(g => g.Key.Options, StringComparer.Ordinal)
            .ToList();

        string modelName = selected.Select(r => r.Model).FirstOrDefault(m => !string.IsNullOrWhiteSpace(m)) ?? "";
        var machines = selected.Select(r => r.MachineName ?? "").Where(m => m.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

        var lines = new List<(string Label, UnitCostCurve Curve, string? LimitStatus)>();
        var cannotRun = new List<string>();
        foreach (var g in groups)
        {
            string label = SeriesLabel(g.First, groups.Select(o => o.First).ToList());
            // One row per batch size: the newest when a unit was measured with several backends or devices.
            var bySize = g.Rows.GroupBy(r => r.BatchSize).Select(s => s.OrderByDescending(r => r.Timestamp).First()).ToList();
            var ok = bySize.Where(r => Is(r.Status, PerfStatus.Ok) && r.BatchSize > 0).Select(r => new MeasuredPoint(r.BatchSize, r.TotalMs)).ToList();
            var limitRow = bySize.Where(r => Is(r.Status, PerfStatus.OutOfMemory) || Is(r.Status, PerfStatus.TooSlow))
                .OrderBy(r => r.BatchSize).FirstOrDefault();
            var curve = new UnitCostCurve(label, ok, limitRow?.BatchSize, g.First.MachineName ?? "", limitRow?.Status,
                CostModel.RunsMeasuredSizesOnly(g.First.Backend));
            if (!curve.IsUsable) { cannotRun.Add($"{label}: {curve.UnusableReason}"); continue; }
            lines.Add((label, curve, limitRow?.Status));
        }
        if (lines.Count == 0)
            throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData,
                $"No unit has a usable measurement of '{modelName}' to draw ({string.Join("; ", cannotRun)}). Measure the units again with Measure-BatchProfile.");

        var metric = options.Metric;
        string title = options.Title ?? $"Performance table: {(modelName.Length > 0 ? modelName : "model")}";
        var subtitleParts = new List<string>();
        if (machines.Count > 0) subtitleParts.Add(machines.Count == 1 ? $"measured on {machines[0]}" : $"measured on {string.Join(", ", machines)}");
        subtitleParts.Add("dots: measured batch sizes; lines: the planner's interpolation");
        if (cannotRun.Count > 0) subtitleParts.Add("not drawn: " + string.Join("; ", cannotRun));
        var model = ChartStyle.NewModel(title, string.Join("  ·  ", subtitleParts));
        model.Legends.Add(ChartStyle.NewLegend("Unit"));

        int minSize = lines.Min(l => l.Curve.Points[0].BatchSize);
        int maxSize = lines.Max(l => l.Curve.MaxBatchSize);
        var values = new List<double>();
        foreach (var (_, curve, _) in lines)
            foreach (var p in curve.Points) values.Add(Value(metric, p.BatchSize, p.TotalMs));

        model.Axes.Add(BatchSizeAxis(minSize, maxSize));
        model.Axes.Add(ValueAxis(metric, values));

        for (int i = 0; i < lines.Count; i++)
        {
            var (label, curve, limitStatus) = lines[i];
            var color = ChartStyle.SeriesColor(i);
            string legend = curve.LimitBatchSize is int limit
                ? $"{label} ({(Is(limitStatus, PerfStatus.TooSlow) ? "too slow" : "out of memory")} from {limit})"
                : label;
            var line = new LineSeries
            {
                Title = legend,
                Color = color,
                StrokeThickness = 2.25,
                LineJoin = LineJoin.Round,
            };
            foreach (int b in SampleSizes(curve)) line.Points.Add(new DataPoint(b, Value(metric, b, curve.MeasuredSizesOnly ? curve.SingleRunMs(b) : curve.DirectMs(b))));
            var dots = new ScatterSeries
            {
                Title = label + " (measured)",
                RenderInLegend = false,
                MarkerType = MarkerType.Circle,
                MarkerSize = 4,
                MarkerFill = color,
                MarkerStroke = OxyColors.White,
                MarkerStrokeThickness = 1,
            };
            foreach (var p in curve.Points) dots.Points.Add(new ScatterPoint(p.BatchSize, Value(metric, p.BatchSize, p.TotalMs)));
            model.Series.Add(line);
            model.Series.Add(dots);
        }

        string description = $"{MetricTitle(metric)} against batch size for {lines.Count} unit(s) of {(modelName.Length > 0 ? modelName : "the model")}: " +
                             string.Join(", ", lines.Select(l => l.Label)) + ".";
        return new Chart(model, ChartKind.PerfTable, lines.Select(l => l.Label).ToArray(), description);
    }

    private readonly record struct SourceKey(string Machine, string Unit, string Options, string Hash);

    private static List<PerfEntry> SelectModel(List<PerfEntry> rows, string? model)
    {
        if (!string.IsNullOrWhiteSpace(model))
        {
            var chosen = rows.Where(r => PerfQueries.MatchesModel(r, model)).ToList();
            if (chosen.Count == 0)
                throw new HeteroBatchException(ChartErrorIds.ChartModelNotFound, ErrorKind.ObjectNotFound,
                    $"The rows hold no measurement of model '{model}'. They hold: {string.Join(", ", ModelNames(rows))}.", model);
            return chosen;
        }
        var names = ModelNames(rows);
        if (names.Count > 1)
            throw new HeteroBatchException(ChartErrorIds.AmbiguousChartModel, ErrorKind.InvalidArgument,
                $"The rows hold {names.Count} models ({string.Join(", ", names)}); one chart shows one. Choose it with -Model, " +
                $"or pipe only its rows (Get-PerfTable -Model {names[0]}).", names.ToArray());
        return rows;
    }

    private static List<string> ModelNames(IEnumerable<PerfEntry> rows) =>
        rows.Select(r => (r.Model ?? "").Trim()).Distinct(StringComparer.OrdinalIgnoreCase).OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
            .Select(n => n.Length == 0 ? "(unnamed)" : n).ToList();

    /// <summary>The unit id with its backend options (threads=1), plus what tells apart several lines of the same unit.</summary>
    private static string SeriesLabel(PerfEntry row, List<PerfEntry> firstOfEachGroup)
    {
        var same = firstOfEachGroup.Where(o => string.Equals(o.Unit, row.Unit, StringComparison.OrdinalIgnoreCase)).ToList();
        var label = row.Unit.Trim();
        var extras = new List<string>();
        if (same.Select(o => Upper(o.MachineName)).Distinct().Count() > 1) extras.Add("@" + row.MachineName);
        if (!string.IsNullOrEmpty(row.BackendOptions)) extras.Add(row.BackendOptions);
        else if (same.Select(o => o.BackendOptions ?? "").Distinct().Count() > 1) extras.Add("default options");
        if (same.Select(o => Upper(o.ModelHash)).Distinct().Count() > 1)
            extras.Add(string.IsNullOrEmpty(row.ModelHash) ? "no hash" : "model " + row.ModelHash[..Math.Min(8, row.ModelHash.Length)]);
        return extras.Count == 0 ? label : $"{label} [{string.Join(", ", extras)}]";
    }

    /// <summary>Every batch size up to 4096 points; beyond, a geometric sample plus the measured sizes.</summary>
    private static IEnumerable<int> SampleSizes(UnitCostCurve curve)
    {
        int first = curve.Points[0].BatchSize, last = curve.MaxBatchSize;
        if (last - first <= 4096) return Enumerable.Range(first, last - first + 1);
        var sizes = new SortedSet<int>(curve.Points.Select(p => p.BatchSize));
        for (double b = first; b < last; b = Math.Max(b + 1, b * 1.005)) sizes.Add((int)b);
        return sizes;
    }

    private static double Value(PerfChartMetric metric, int batchSize, double totalMs) => metric switch
    {
        PerfChartMetric.ItemsPerSecond => batchSize * 1000.0 / totalMs,
        PerfChartMetric.TotalMs => totalMs,
        _ => totalMs / batchSize,
    };

    private static string MetricTitle(PerfChartMetric metric) => metric switch
    {
        PerfChartMetric.ItemsPerSecond => "Throughput (items/s)",
        PerfChartMetric.TotalMs => "Time per batch (ms)",
        _ => "Time per item (ms)",
    };

    private static Axis BatchSizeAxis(int min, int max)
    {
        // Profiled sizes cluster around powers of two (2^n, 2^n±1): a base-2 axis spaces them evenly.
        if (max >= 4 * Math.Max(1, min))
        {
            return new LogarithmicAxis
            {
                Position = AxisPosition.Bottom,
                Base = 2,
                Title = "Batch size (items, log scale)",
                Minimum = Math.Max(0.85, min / 1.15),
                Maximum = max * 1.15,
                MajorGridlineStyle = LineStyle.Solid,
                MajorGridlineColor = ChartStyle.MajorGrid,
                MinorTickSize = 0,
                StringFormat = "0",
                AxislineColor = ChartStyle.Axis,
                TicklineColor = ChartStyle.Axis,
                TitleFontSize = 13,
                AxisTitleDistance = 6,
            };
        }
        return new LinearAxis
        {
            Position = AxisPosition.Bottom,
            Title = "Batch size (items)",
            Minimum = Math.Max(0, min - 1),
            Maximum = max + 1,
            MajorGridlineStyle = LineStyle.Solid,
            MajorGridlineColor = ChartStyle.MajorGrid,
            MinimumMajorStep = 1,
            MinorTickSize = 0,
            StringFormat = "0",
            AxislineColor = ChartStyle.Axis,
            TicklineColor = ChartStyle.Axis,
            TitleFontSize = 13,
        };
    }

    private static Axis ValueAxis(PerfChartMetric metric, List<double> values)
    {
        double lo = values.Min(), hi = values.Max();
        string title = MetricTitle(metric);
        // Units of very different speed (a CPU and a GPU) differ by orders of magnitude: keep both readable.
        if (lo > 0 && hi / lo > 100)
        {
            return new LogarithmicAxis
            {
                Position = AxisPosition.Left,
                AxisTitleDistance = 10,
                Title = title + ", log scale",
                Minimum = lo / 1.5,
                Maximum = hi * 1.5,
                MajorGridlineStyle = LineStyle.Solid,
                MajorGridlineColor = ChartStyle.MajorGrid,
                MinorGridlineStyle = LineStyle.Solid,
                MinorGridlineColor = ChartStyle.MinorGrid,
                MinorTickSize = 0,
                StringFormat = "0.###",
                AxislineColor = ChartStyle.Axis,
                TicklineColor = ChartStyle.Axis,
                TitleFontSize = 13,
            };
        }
        return new LinearAxis
        {
            Position = AxisPosition.Left,
            AxisTitleDistance = 10,
            Title = title,
            Minimum = 0,
            MaximumPadding = 0.08,
            MinorTickSize = 0,
            MajorGridlineStyle = LineStyle.Solid,
            MajorGridlineColor = ChartStyle.MajorGrid,
            StringFormat = "0.###",
            AxislineColor = ChartStyle.Axis,
            TicklineColor = ChartStyle.Axis,
            TitleFontSize = 13,
        };
    }

    // ---------------------------------------------------------------- plan and result

    /// <summary>
    /// One bar per unit of <paramref name="plan"/> with its items and predicted time, the predicted makespan as a
    /// line, and a last bar for the best single unit running the whole batch: what the split buys at a glance.
    /// </summary>
    public static Chart Plan(BatchPlan plan, ChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        options ??= new ChartOptions();
        CheckShares(plan.Shares?.Length ?? 0, "plan");
        var bars = plan.Shares!.Select(s => new UnitBar(s.Unit, s.Items, s.PredictedMs, null, false, s.Reason)).ToList();
        string title = options.Title ?? $"Plan: {plan.Model}, batch of {plan.BatchSize}";
        var best = Baseline.Of(plan.BestSingleUnit, plan.BestSingleUnitMs);
        string subtitle = $"{plan.Algorithm} split, predicted makespan {Ms(plan.PredictedMs)} ms" + BestSingleText(best, plan.PredictedMs, "predicted speedup");
        return BuildBars(ChartKind.Plan, title, subtitle, bars, best, makespanMs: plan.PredictedMs, wallMs: null, batchSize: plan.BatchSize);
    }

    /// <summary>
    /// One pair of bars per unit of a run (predicted and actual time, with its items), the predicted makespan and
    /// the wall time as lines, and the best single unit's predicted time for the whole batch: the machine's best
    /// (<see cref="InferenceResult.BestSingleUnit"/>: the whole CPU when the run used CPU slices), else the plan's.
    /// </summary>
    public static Chart Result(InferenceResult result, ChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        options ??= new ChartOptions();
        CheckShares(result.Units?.Length ?? 0, "result");
        var bars = result.Units!.Select(u => new UnitBar(u.Unit, u.Failed ? u.ItemsCompleted : Math.Max(u.Items, u.ItemsCompleted),
            u.PredictedMs, u.ActualMs, u.Failed, u.Failed ? "failed" + (u.ErrorId is null ? "" : $" ({u.ErrorId})") : null)).ToList();
        double predicted = result.PredictedMs > 0 ? result.PredictedMs : result.Plan?.PredictedMs ?? 0;
        string title = options.Title ?? $"Run: {result.Model}, batch of {result.BatchSize}";
        string subtitle = $"wall time {Ms(result.WallMs)} ms (predicted {Ms(predicted)} ms)";
        var best = Baseline.Of(result.BestSingleUnit, result.BestSingleUnitMs) ?? (result.Plan is { } p ? Baseline.Of(p.BestSingleUnit, p.BestSingleUnitMs) : null);
        subtitle += BestSingleText(best, result.WallMs, "speedup of the run");
        if (result.FailedUnits is { Length: > 0 } failed) subtitle += $"  ·  failed: {string.Join(", ", failed)} ({result.ItemsReplanned} items re-planned)";
        return BuildBars(ChartKind.Result, title, subtitle, bars, best, makespanMs: predicted, wallMs: result.WallMs, batchSize: result.BatchSize);
    }

    private sealed record UnitBar(string Unit, int Items, double PredictedMs, double? ActualMs, bool Failed, string? Note);

    private static void CheckShares(int count, string what)
    {
        if (count == 0)
            throw new HeteroBatchException(ChartErrorIds.NoChartInput, ErrorKind.InvalidData,
                $"The {what} has no units to draw. Pass the object Split-Batch or Invoke-HeteroInference returned (as JSON: ConvertTo-Json -Depth 6).");
    }

    /// <summary>The single unit a split is compared with, and its predicted time for the whole batch.</summary>
    private sealed record Baseline(string Unit, double Ms)
    {
        public static Baseline? Of(string? unit, double ms) =>
            string.IsNullOrEmpty(unit) || !double.IsFinite(ms) || ms <= 0 ? null : new Baseline(unit, ms);
    }

    private static string BestSingleText(Baseline? best, double splitMs, string which)
    {
        if (best is null) return "";
        double speedup = splitMs > 0 ? best.Ms / splitMs : double.NaN;
        return $"  ·  {best.Unit} alone would take {Ms(best.Ms)} ms (predicted)  ·  {which} {speedup.ToString("0.00", Inv)}×";
    }

    private static Chart BuildBars(ChartKind kind, string title, string subtitle, List<UnitBar> bars, Baseline? baseline,
        double makespanMs, double? wallMs, int batchSize)
    {
        var model = ChartStyle.NewModel(title, subtitle);
        var legend = ChartStyle.NewLegend();
        legend.LegendPosition = OxyPlot.Legends.LegendPosition.TopCenter;
        legend.LegendOrientation = OxyPlot.Legends.LegendOrientation.Horizontal;
        legend.LegendMargin = 4;
        model.Legends.Add(legend);
        bool withActual = kind == ChartKind.Result;
        bool withBest = baseline is not null;

        // OxyPlot draws bars along a category y axis; putting that axis at the bottom (and the time axis on the
        // left) turns them into upright columns, as the paper's figure has them.
        var categories = new CategoryAxis
        {
            Key = UnitAxisKey,
            Position = AxisPosition.Bottom,
            GapWidth = 0.45,
            AxislineColor = ChartStyle.Axis,
            TicklineColor = ChartStyle.Axis,
            TitleFontSize = 13,
            IsZoomEnabled = false,
            IsPanEnabled = false,
        };
        foreach (var b in bars)
            categories.Labels.Add($"{b.Unit}\n{Items(b.Items)}" + (b.Note is { } note && (b.Failed || b.Items == 0) ? $"\n{ShortReason(note)}" : ""));
        if (withBest) categories.Labels.Add($"{baseline!.Unit} alone\n{Items(batchSize)}");
        model.Axes.Add(categories);

        double top = new[] { makespanMs, wallMs ?? 0, withBest ? baseline!.Ms : 0 }
            .Concat(bars.Select(b => Math.Max(b.PredictedMs, b.ActualMs ?? 0))).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        model.Axes.Add(new LinearAxis
        {
            Key = TimeAxisKey,
            Position = AxisPosition.Left,
            AxisTitleDistance = 10,
            Title = "Time (ms)",
            Minimum = 0,
            Maximum = top * 1.18,
            MajorGridlineStyle = LineStyle.Solid,
            MajorGridlineColor = ChartStyle.MajorGrid,
            MinorTickSize = 0,
            StringFormat = "0.###",
            AxislineColor = ChartStyle.Axis,
            TicklineColor = ChartStyle.Axis,
            TitleFontSize = 13,
            IsZoomEnabled = false,
            IsPanEnabled = false,
        });

        // Bars of one slot share a stack group, so a category with a single bar (the best single unit) keeps it
        // centred in that slot instead of leaving a gap where the other series has nothing.
        string labels = LabelFormat(top);
        var predicted = NewBars(withActual ? "Predicted time" : "Predicted time", ChartStyle.Predicted, "time", labels);
        var actual = withActual ? NewBars("Actual time", ChartStyle.Actual, "time-actual", labels) : null;
        var best = withBest ? NewBars("Best single unit, whole batch (predicted)", ChartStyle.BestSingle, "time", labels) : null;
        for (int i = 0; i < bars.Count; i++)
        {
            var b = bars[i];
            // A unit without items gets no bar (and no "0 ms" label): its axis label says why.
            if (Finite(b.PredictedMs) > 0) predicted.Items.Add(new BarItem(b.PredictedMs, i));
            if (actual is not null && Finite(b.ActualMs ?? 0) > 0)
                actual.Items.Add(new BarItem(b.ActualMs!.Value, i) { Color = b.Failed ? ChartStyle.Failed : OxyColors.Automatic });
        }
        if (best is not null)
        {
            best.Items.Add(new BarItem(baseline!.Ms, bars.Count));
        }
        model.Series.Add(predicted);
        if (actual is not null) model.Series.Add(actual);
        if (best is not null) model.Series.Add(best);

        int slots = bars.Count + (withBest ? 1 : 0);
        if (makespanMs > 0 && double.IsFinite(makespanMs))
            model.Series.Add(Level(makespanMs, slots, $"Predicted makespan {Ms(makespanMs)} ms", OxyColor.Parse("#2B4C6F"), LineStyle.Dash));
        if (wallMs is double wall && wall > 0)
            model.Series.Add(Level(wall, slots, $"Wall time {Ms(wall)} ms", OxyColor.Parse("#B35806"), LineStyle.Solid));

        string what = kind == ChartKind.Plan ? "predicted time" : "predicted and actual time";
        string description = $"{title}: {what} of each unit ({string.Join(", ", bars.Select(b => $"{b.Unit} {b.Items} items"))})" +
                             (withBest ? $", against {baseline!.Unit} alone for the whole batch ({Ms(baseline.Ms)} ms)." : ".");
        return new Chart(model, kind, bars.Select(b => b.Unit).ToArray(), description);
    }

    private static BarSeries NewBars(string title, OxyColor color, string stackGroup, string labelFormat) => new()
    {
        Title = title,
        FillColor = color,
        StrokeColor = OxyColors.White,
        StrokeThickness = 0.5,
        IsStacked = true,
        StackGroup = stackGroup,
        BarWidth = 1,
        LabelFormatString = labelFormat,
        LabelPlacement = LabelPlacement.Outside,
        LabelMargin = 3,
        TextColor = ChartStyle.Text,
        FontSize = 12,
        XAxisKey = TimeAxisKey,
        YAxisKey = UnitAxisKey,
    };

    private const string UnitAxisKey = "units", TimeAxisKey = "time";

    /// <summary>Bar labels with as many decimals as the scale needs, the same for every bar.</summary>
    private static string LabelFormat(double top) => top >= 100 ? "{0:0} ms" : top >= 10 ? "{0:0.0} ms" : top >= 1 ? "{0:0.00} ms" : "{0:0.000} ms";

    /// <summary>A level line across all bars, as a series so the legend names it.</summary>
    private static LineSeries Level(double ms, int slots, string title, OxyColor color, LineStyle style)
    {
        var line = new LineSeries
        {
            Title = title,
            Color = color,
            LineStyle = style,
            StrokeThickness = 2,
            XAxisKey = TimeAxisKey,
            YAxisKey = UnitAxisKey,
        };
        line.Points.Add(new DataPoint(ms, -0.5));
        line.Points.Add(new DataPoint(ms, slots - 0.5));
        return line;
    }

    // ---------------------------------------------------------------- helpers

    private static string Upper(string? s) => (s ?? "").Trim().ToUpperInvariant();
    private static bool Is(string? status, string expected) => string.Equals(status?.Trim(), expected, StringComparison.OrdinalIgnoreCase);
    private static double Finite(double v) => double.IsFinite(v) && v > 0 ? v : 0;
    private static string Items(int n) => n == 1 ? "1 item" : $"{n.ToString(Inv)} items";
    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    /// <summary>The planner's reasons are sentences; under a bar only their head fits ("slower than the makespan").</summary>
    private static string ShortReason(string reason)
    {
        int colon = reason.IndexOf(':');
        return Shorten((colon > 0 ? reason[..colon] : reason).Trim(), 26);
    }

    internal static string Ms(double ms) =>
        !double.IsFinite(ms) ? "∞" : ms >= 100 ? ms.ToString("0", Inv) : ms >= 10 ? ms.ToString("0.0", Inv) : ms.ToString("0.00", Inv);
}
