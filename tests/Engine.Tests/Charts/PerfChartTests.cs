using HeteroBatch.Engine.Charts;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Table;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Series;
using Xunit;
using static HeteroBatch.Engine.Tests.Charts.ChartFixtures;

namespace HeteroBatch.Engine.Tests.Charts;

public class PerfChartTests
{
    [Fact]
    public void Svg_parses_and_draws_one_line_per_unit_with_its_label_and_the_axis_titles()
    {
        var chart = ChartBuilder.PerfTable(PaperRows());
        Assert.Equal(ChartKind.PerfTable, chart.Kind);
        Assert.Equal(new[] { "CPU", "GPU", "IGPU" }, chart.Units);

        var lines = chart.Model.Series.OfType<LineSeries>().Where(s => s.RenderInLegend).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal(chart.Units, lines.Select(l => l.Title));

        var doc = ParseSvg(chart.ToSvg());
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        Assert.Equal("960", doc.Root.Attribute("width")!.Value);
        var texts = Texts(doc);
        foreach (var unit in chart.Units) Assert.Contains(unit, texts);
        Assert.Contains("Batch size (items, log scale)", texts);
        Assert.Contains("Time per item (ms)", texts);
        Assert.Contains("Performance table: resnet-50", texts);
        Assert.Equal("Performance table: resnet-50", doc.Root.Element(Svg + "title")!.Value);

        // Each unit's colour strokes its long line (and the legend's short one).
        var polylines = doc.Descendants(Svg + "polyline").ToList();
        foreach (var line in lines)
        {
            var c = line.Color;
            var stroke = $"stroke:rgb({c.R},{c.G},{c.B})";
            var own = polylines.Where(p => (p.Attribute("style")?.Value ?? "").Contains(stroke)).ToList();
            Assert.True(own.Count >= 2, $"{line.Title}: {own.Count} polylines in {stroke}");
            Assert.Contains(own, p => p.Attribute("points")!.Value.Split(' ').Length > 100);
        }
    }

    [Fact]
    public void Lines_follow_the_planners_interpolation_and_dots_are_the_measured_points()
    {
        var chart = ChartBuilder.PerfTable(PaperRows());
        var gpu = chart.Model.Series.OfType<LineSeries>().Single(s => s.Title == "GPU");
        var dots = chart.Model.Series.OfType<ScatterSeries>().Single(s => s.Title == "GPU (measured)");
        Assert.False(dots.RenderInLegend);

        // Dots: exactly the measured sizes, at total / size (exec + I/O).
        Assert.Equal(Gpu.Select(p => (double)p.Size), dots.Points.Select(p => p.X));
        foreach (var (size, ms) in Gpu)
            Assert.Equal((ms + 0.1 * size) / size, dots.Points.Single(p => p.X == size).Y, 9);

        // Line: every batch size from 1 to 128; between two measured sizes the time per item is linear in the size.
        Assert.Equal(Enumerable.Range(1, 128).Select(b => (double)b), gpu.Points.Select(p => p.X));
        double PerItem(int s) { var ms = Gpu.Single(p => p.Size == s).Ms; return (ms + 0.1 * s) / s; }
        foreach (var (lo, hi) in new[] { (17, 32), (33, 64), (65, 128), (4, 8) })
            for (int b = lo; b <= hi; b++)
            {
                double expected = PerItem(lo) + (PerItem(hi) - PerItem(lo)) * (b - lo) / (hi - lo);
                Assert.Equal(expected, gpu.Points.Single(p => p.X == b).Y, 5);
            }
        // The non-monotone step the planner exploits (17 is slower per item than 16) is drawn, not smoothed away.
        Assert.True(gpu.Points[16].Y > gpu.Points[15].Y);
    }

    [Theory]
    [InlineData(PerfChartMetric.ItemsPerSecond, "Throughput (items/s)")]
    [InlineData(PerfChartMetric.TotalMs, "Time per batch (ms)")]
    public void Metric_changes_the_values_and_the_axis_title(PerfChartMetric metric, string axisTitle)
    {
        var chart = ChartBuilder.PerfTable(PaperRows(), new ChartOptions { Metric = metric });
        var cpu = chart.Model.Series.OfType<ScatterSeries>().Single(s => s.Title == "CPU (measured)");
        double total = 9.0 * 32 + 2;
        double expected = metric == PerfChartMetric.TotalMs ? total : 32 * 1000.0 / total;
        Assert.Equal(expected, cpu.Points.Single(p => p.X == 32).Y, 9);
        Assert.Contains(chart.Model.Axes, a => a.Position == AxisPosition.Left && a.Title.StartsWith(axisTitle));
        Assert.Contains(Texts(ParseSvg(chart.ToSvg())), t => t.StartsWith(axisTitle));
    }

    [Fact]
    public void An_out_of_memory_row_ends_the_line_and_is_named_in_the_legend()
    {
        var rows = PaperRows().Where(r => (r.Unit != "GPU" || r.BatchSize < 64) && (r.Unit != "CPU" || r.BatchSize < 128)).ToList();
        rows.Add(new PerfEntry { Model = ModelName, MachineName = Machine, Unit = "GPU", BatchSize = 64, ExecMs = 0, Status = PerfStatus.OutOfMemory });
        rows.Add(new PerfEntry { Model = ModelName, MachineName = Machine, Unit = "CPU", BatchSize = 128, ExecMs = 0, Status = PerfStatus.TooSlow });
        var chart = ChartBuilder.PerfTable(rows);
        Assert.Contains("CPU (too slow from 128)", chart.Model.Series.OfType<LineSeries>().Select(s => s.Title));
        var gpu = chart.Model.Series.OfType<LineSeries>().Single(s => s.Title.StartsWith("GPU"));
        Assert.Equal("GPU (out of memory from 64)", gpu.Title);
        Assert.Equal(33, gpu.Points.Max(p => p.X));
        Assert.Contains("GPU (out of memory from 64)", Texts(ParseSvg(chart.ToSvg())));
    }

    [Fact]
    public void The_same_unit_on_two_machines_is_two_labelled_lines()
    {
        var rows = PaperRows(machine: "node1").Concat(PaperRows(machine: "node2")).Where(r => r.Unit == "GPU").ToList();
        var chart = ChartBuilder.PerfTable(rows);
        Assert.Equal(new[] { "GPU [@node1]", "GPU [@node2]" }, chart.Units);
    }

    [Fact]
    public void Backend_options_are_named_in_the_label()
    {
        var rows = PaperRows().Where(r => r.Unit == "CPU").ToList();
        rows.AddRange(rows.Select(r => r with { BackendOptions = "threads=1" }).ToList());
        var chart = ChartBuilder.PerfTable(rows);
        Assert.Equal(new[] { "CPU [default options]", "CPU [threads=1]" }, chart.Units);
    }

    [Fact]
    public void Rows_of_several_models_need_a_choice()
    {
        var rows = PaperRows().Concat(PaperRows(model: "vgg-16")).ToList();
        var ex = Assert.Throws<HeteroBatchException>(() => ChartBuilder.PerfTable(rows));
        Assert.Equal(ChartErrorIds.AmbiguousChartModel, ex.ErrorId);
        Assert.Contains("vgg-16", ex.Message);

        var chart = ChartBuilder.PerfTable(rows, new ChartOptions { Model = "VGG-16" });
        Assert.Equal("Performance table: vgg-16", chart.Title);
        Assert.Equal(3, chart.Units.Count);

        var missing = Assert.Throws<HeteroBatchException>(() => ChartBuilder.PerfTable(rows, new ChartOptions { Model = "inception" }));
        Assert.Equal(ChartErrorIds.ChartModelNotFound, missing.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, missing.Kind);
    }

    [Fact]
    public void Nothing_to_draw_is_an_error()
    {
        Assert.Equal(ChartErrorIds.NoChartInput, Assert.Throws<HeteroBatchException>(() => ChartBuilder.PerfTable(Array.Empty<PerfEntry>())).ErrorId);
        var onlyLimits = new[] { new PerfEntry { Model = ModelName, Unit = "GPU", BatchSize = 1, ExecMs = 0, Status = PerfStatus.OutOfMemory } };
        var ex = Assert.Throws<HeteroBatchException>(() => ChartBuilder.PerfTable(onlyLimits));
        Assert.Equal(ChartErrorIds.NoChartInput, ex.ErrorId);
        Assert.Contains("GPU", ex.Message);
    }

    [Fact]
    public void The_title_can_be_given()
    {
        var chart = ChartBuilder.PerfTable(PaperRows(), new ChartOptions { Title = "My machine" });
        Assert.Contains("My machine", Texts(ParseSvg(chart.ToSvg(640, 400))));
    }
}
