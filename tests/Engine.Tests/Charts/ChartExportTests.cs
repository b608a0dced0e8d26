using HeteroBatch.Engine.Charts;
using HeteroBatch.Engine.Errors;
using Xunit;
using static HeteroBatch.Engine.Tests.Charts.ChartFixtures;

namespace HeteroBatch.Engine.Tests.Charts;

public class ChartExportTests
{
    [SkippableFact]
    public void Png_has_the_requested_size()
    {
        Skip.IfNot(Chart.IsPngAvailable(out var reason), reason);
        foreach (var (chart, w, h) in new[] { (ChartBuilder.PerfTable(PaperRows()), 960, 560), (ChartBuilder.Plan(PaperPlan()), 1200, 700), (ChartBuilder.Result(PaperResult(50, 1, 1, 1)), 640, 400) })
        {
            using var stream = new MemoryStream();
            chart.WritePng(stream, w, h);
            Assert.Equal((w, h), PngSize(stream.ToArray()));
            Assert.True(stream.Length > 5000, "a chart with text and bars is more than a blank image");
        }
    }

    [SkippableFact]
    public void Save_writes_the_format_the_extension_asks_for_and_replaces_an_old_file()
    {
        var dir = TempFolder();
        try
        {
            var chart = ChartBuilder.Plan(PaperPlan());
            var svg = chart.Save(Path.Combine(dir, "plan.svg"), Chart.FormatFor("plan.svg"), 800, 500);
            Assert.True(svg.Exists);
            var doc = ParseSvg(File.ReadAllText(svg.FullName));
            Assert.Equal("800", doc.Root!.Attribute("width")!.Value);
            Assert.Equal("0 0 800 500", doc.Root.Attribute("viewBox")!.Value);

            Skip.IfNot(Chart.IsPngAvailable(out var reason), reason);
            var target = Path.Combine(dir, "plan.png");
            File.WriteAllText(target, "old");
            var png = chart.Save(target, Chart.FormatFor(target), 640, 480);
            Assert.Equal((640, 480), PngSize(File.ReadAllBytes(png.FullName)));
            Assert.Equal(new[] { "plan.png", "plan.svg" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray()); // no temp file left
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Svg_is_laid_out_without_the_native_renderer_too()
    {
        var chart = ChartBuilder.Plan(PaperPlan());
        var texts = Texts(ParseSvg(chart.ToSvg(960, 560, measureWithSkia: false)));
        Assert.Contains("GPU alone", texts);
        Assert.Contains("Time (ms)", texts);
        Assert.Contains("Plan: resnet-50, batch of 100", texts);
    }

    [Theory]
    [InlineData("a.svg", null, ChartFormat.Svg)]
    [InlineData("a.SVG", null, ChartFormat.Svg)]
    [InlineData("a.png", null, ChartFormat.Png)]
    [InlineData("a.chart", ChartFormat.Png, ChartFormat.Png)]
    [InlineData("a.png", ChartFormat.Svg, ChartFormat.Svg)]
    public void Format_comes_from_the_extension_unless_given(string path, ChartFormat? given, ChartFormat expected) =>
        Assert.Equal(expected, Chart.FormatFor(path, given));

    [Theory]
    [InlineData("a.gif")]
    [InlineData("chart")]
    public void An_unknown_format_is_refused(string path)
    {
        var ex = Assert.Throws<HeteroBatchException>(() => Chart.FormatFor(path));
        Assert.Equal(ChartErrorIds.UnknownChartFormat, ex.ErrorId);
        Assert.Contains("-Format", ex.Message);
    }

    [Fact]
    public void An_unwritable_path_is_a_write_error_and_leaves_nothing()
    {
        var chart = ChartBuilder.PerfTable(PaperRows());
        var dir = TempFolder();
        try
        {
            var missingFolder = Assert.Throws<HeteroBatchException>(() => chart.Save(Path.Combine(dir, "no", "such", "a.svg"), ChartFormat.Svg));
            Assert.Equal(ChartErrorIds.ChartWriteFailed, missingFolder.ErrorId);
            Assert.Equal(ErrorKind.WriteError, missingFolder.Kind);
            var folder = Assert.Throws<HeteroBatchException>(() => chart.Save(dir, ChartFormat.Svg));
            Assert.Equal(ChartErrorIds.ChartWriteFailed, folder.ErrorId);
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(100, 500)]
    [InlineData(960, 20000)]
    public void A_size_out_of_range_is_refused(int width, int height)
    {
        var chart = ChartBuilder.PerfTable(PaperRows());
        Assert.Equal(ChartErrorIds.InvalidChartSize, Assert.Throws<HeteroBatchException>(() => chart.ToSvg(width, height)).ErrorId);
    }
}
