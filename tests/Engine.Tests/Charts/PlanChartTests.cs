using HeteroBatch.Engine.Charts;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;
using OxyPlot.Axes;
using OxyPlot.Series;
using Xunit;
using static HeteroBatch.Engine.Tests.Charts.ChartFixtures;

namespace HeteroBatch.Engine.Tests.Charts;

public class PlanChartTests
{
    [Fact]
    public void A_plan_is_one_bar_per_unit_with_its_items_the_makespan_and_the_best_single_unit_beside_it()
    {
        var plan = PaperPlan();
        var chart = ChartBuilder.Plan(plan);
        Assert.Equal(ChartKind.Plan, chart.Kind);
        Assert.Equal(plan.Shares.Select(s => s.Unit), chart.Units);

        var predicted = chart.Model.Series.OfType<BarSeries>().Single(s => s.Title == "Predicted time");
        var working = plan.Shares.Select((s, i) => (s, i)).Where(x => x.s.Items > 0).ToList();
        Assert.Equal(working.Count, predicted.Items.Count);
        foreach (var (share, index) in working)
            Assert.Equal(share.PredictedMs, predicted.Items.Single(b => b.CategoryIndex == index).Value, 9);

        var best = chart.Model.Series.OfType<BarSeries>().Single(s => s.Title.StartsWith("Best single unit"));
        Assert.Equal(plan.BestSingleUnitMs, Assert.Single(best.Items).Value, 9);
        Assert.Equal(plan.Shares.Length, best.Items[0].CategoryIndex);

        var categories = chart.Model.Axes.OfType<CategoryAxis>().Single();
        Assert.Equal(plan.Shares.Length + 1, categories.Labels.Count);
        for (int i = 0; i < plan.Shares.Length; i++)
            Assert.Equal($"{plan.Shares[i].Unit}\n{plan.Shares[i].Items} items", categories.Labels[i]);
        Assert.Equal($"{plan.BestSingleUnit} alone\n100 items", categories.Labels[^1]);

        var makespan = chart.Model.Series.OfType<LineSeries>().Single();
        Assert.All(makespan.Points, p => Assert.Equal(plan.PredictedMs, p.X, 9));

        var texts = Texts(ParseSvg(chart.ToSvg()));
        foreach (var unit in chart.Units) Assert.Contains(texts, t => t == unit || t.StartsWith(unit + " "));
        Assert.Contains("Time (ms)", texts);
        Assert.Contains("Predicted makespan " + plan.PredictedMs.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " ms", texts);
        Assert.Contains("GPU alone", texts);
        Assert.Contains(texts, t => t.Contains("speedup") && t.Contains(plan.PredictedSpeedup.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "×"));
    }

    [Fact]
    public void A_unit_without_items_gets_no_bar_and_says_why()
    {
        var plan = PaperPlan(2);
        var idle = plan.Shares.Select((s, i) => (s, i)).Where(x => x.s.Items == 0).ToList();
        Assert.NotEmpty(idle);
        var chart = ChartBuilder.Plan(plan);
        var predicted = chart.Model.Series.OfType<BarSeries>().Single(s => s.Title == "Predicted time");
        var labels = chart.Model.Axes.OfType<CategoryAxis>().Single().Labels;
        foreach (var (share, index) in idle)
        {
            Assert.DoesNotContain(predicted.Items, b => b.CategoryIndex == index);
            Assert.Equal($"{share.Unit}\n0 items\nslower than the makespan", labels[index]);
        }
    }

    [Fact]
    public void A_result_shows_predicted_and_actual_time_per_unit_and_the_wall_time()
    {
        var result = PaperResult(52.5, 1.1, 1.2, 1.05);
        var chart = ChartBuilder.Result(result);
        Assert.Equal(ChartKind.Result, chart.Kind);
        var actual = chart.Model.Series.OfType<BarSeries>().Single(s => s.Title == "Actual time");
        var predicted = chart.Model.Series.OfType<BarSeries>().Single(s => s.Title == "Predicted time");
        for (int i = 0; i < result.Units.Length; i++)
        {
            Assert.Equal(result.Units[i].ActualMs, actual.Items.Single(b => b.CategoryIndex == i).Value, 9);
            Assert.Equal(result.Units[i].PredictedMs, predicted.Items.Single(b => b.CategoryIndex == i).Value, 9);
        }
        Assert.NotEqual(predicted.StackGroup, actual.StackGroup); // side by side, not stacked on each other
        var texts = Texts(ParseSvg(chart.ToSvg()));
        Assert.Contains("Wall time 52.5 ms", texts);
        Assert.Contains("Actual time", texts);
        Assert.Contains("Run: resnet-50, batch of 100", texts);
    }

    [Fact]
    public void A_result_is_measured_against_the_machines_best_single_unit_not_the_plans_best_slice()
    {
        // A run on CPU slices: the plan's best single unit is one slice; the machine's is the whole CPU.
        var run = PaperResult(52.5, 1.1, 1.2, 1.05);
        var sliced = run with { Plan = run.Plan! with { BestSingleUnit = "cpu:1", BestSingleUnitMs = 400 }, BestSingleUnit = "cpu", BestSingleUnitMs = 105 };
        var texts = Texts(ParseSvg(ChartBuilder.Result(sliced).ToSvg()));
        var all = string.Join("\n", texts);
        Assert.Contains("cpu alone would take 105 ms (predicted)", all);
        Assert.Contains("speedup of the run 2.00×", all);
        Assert.DoesNotContain("cpu:1 alone", all);
        var best = ChartBuilder.Result(sliced).Model.Series.OfType<BarSeries>().Single(s => s.Title!.StartsWith("Best single unit"));
        Assert.Equal(105, Assert.Single(best.Items).Value, 9);

        // Without the machine's baseline (a result from before, or no rows for the whole CPU) the plan's is used.
        var planOnly = Texts(ParseSvg(ChartBuilder.Result(sliced with { BestSingleUnit = "", BestSingleUnitMs = 0 }).ToSvg()));
        Assert.Contains("cpu:1 alone would take 400 ms (predicted)", string.Join("\n", planOnly));
    }

    [Fact]
    public void A_plan_without_shares_is_an_error()
    {
        var plan = PaperPlan() with { Shares = Array.Empty<UnitShare>() };
        Assert.Equal(ChartErrorIds.NoChartInput, Assert.Throws<HeteroBatchException>(() => ChartBuilder.Plan(plan)).ErrorId);
    }
}
