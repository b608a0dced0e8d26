using System.Text.Json;
using HeteroBatch.Engine.Charts;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;
using static HeteroBatch.Engine.Tests.Charts.ChartFixtures;

namespace HeteroBatch.Engine.Tests.Charts;

public class ChartInputTests : IDisposable
{
    private readonly string _dir = TempFolder();
    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Csv(IEnumerable<PerfEntry> rows, char sep = ',', string? typeLine = null)
    {
        string Q(object v) => "\"" + Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!.Replace("\"", "\"\"") + "\"";
        var lines = new List<string>();
        if (typeLine is not null) lines.Add(typeLine);
        lines.Add(string.Join(sep, new[] { "Model", "ModelHash", "MachineName", "Unit", "BatchSize", "ExecMs", "IoMs", "TotalMs", "Status", "Timestamp" }.Select(Q)));
        foreach (var r in rows)
            lines.Add(string.Join(sep, new object[] { r.Model, r.ModelHash, r.MachineName, r.Unit, r.BatchSize, r.ExecMs, r.IoMs, r.TotalMs, r.Status, "11/26/2025 10:00:00 +00:00" }.Select(Q)));
        return string.Join("\r\n", lines) + "\r\n";
    }

    [Theory]
    [InlineData(',', null)]
    [InlineData(';', null)]
    [InlineData(',', "#TYPE HeteroBatch.Engine.Table.PerfEntry")]
    public void A_csv_exported_from_the_table_draws_the_same_chart(char sep, string? typeLine)
    {
        var rows = PaperRows();
        var input = ChartInputReader.ReadFile(Write("t.csv", Csv(rows, sep, typeLine)));
        Assert.Equal(ChartKind.PerfTable, input.Kind);
        Assert.Equal(rows.Count, input.Rows.Count);
        var gpu17 = input.Rows.Single(r => r.Unit == "GPU" && r.BatchSize == 17);
        Assert.Equal(11.9, gpu17.ExecMs, 9);
        Assert.Equal(1.7, gpu17.IoMs, 9);
        Assert.Equal(Machine, gpu17.MachineName);
        Assert.Equal(ChartBuilder.PerfTable(rows).Units, input.Build().Units);
    }

    [Fact]
    public void Csv_with_only_a_total_time_and_quoted_commas_reads()
    {
        var text = "Unit,BatchSize,TotalMs,Model\r\n\"gpu, fast\",4,8.5,net\r\n\"gpu, fast\",8,12,net\r\n";
        var input = ChartInputReader.ReadFile(Write("t.csv", text));
        Assert.All(input.Rows, r => Assert.Equal("gpu, fast", r.Unit));
        Assert.Equal(new[] { 8.5, 12.0 }, input.Rows.Select(r => r.TotalMs));
    }

    [Fact]
    public void The_table_file_itself_and_a_json_array_of_rows_read()
    {
        var tablePath = Path.Combine(_dir, "perftable.json");
        new PerfTableStore(tablePath).Merge(PaperRows());
        var fromTable = ChartInputReader.ReadFile(tablePath);
        Assert.Equal(ChartKind.PerfTable, fromTable.Kind);
        Assert.Equal(33, fromTable.Rows.Count);

        var array = JsonSerializer.Serialize(PaperRows());
        var fromArray = ChartInputReader.ReadFile(Write("rows.json", array));
        Assert.Equal(33, fromArray.Rows.Count);
        Assert.Equal(fromTable.Build().Units, fromArray.Build().Units);
    }

    [Fact]
    public void A_plan_and_a_result_read_back_from_json()
    {
        var plan = PaperPlan();
        var planInput = ChartInputReader.ReadFile(Write("plan.json", JsonSerializer.Serialize(plan)));
        Assert.Equal(ChartKind.Plan, planInput.Kind);
        Assert.Equal(plan.Shares.Select(s => s.Items), planInput.Plan!.Shares.Select(s => s.Items));
        Assert.Equal(plan.PredictedMs, planInput.Plan.PredictedMs);

        // As PowerShell writes it: enums as numbers, camel or Pascal case both accepted.
        var psStyle = JsonSerializer.Serialize(plan).Replace("\"Algorithm\":\"Optimal\"", "\"Algorithm\":0");
        Assert.Equal(PlanAlgorithm.Optimal, ChartInputReader.ReadJson(psStyle).Plan!.Algorithm);

        var result = PaperResult(50, 1.1, 1.0, 1.2);
        var resultInput = ChartInputReader.ReadFile(Write("result.json", JsonSerializer.Serialize(result)));
        Assert.Equal(ChartKind.Result, resultInput.Kind);
        Assert.Equal(result.Units.Select(u => u.ActualMs), resultInput.Result!.Units.Select(u => u.ActualMs));
        Assert.Equal(ChartKind.Result, resultInput.Build().Kind);
    }

    [Fact]
    public void A_plan_flattened_by_ConvertTo_Json_default_depth_says_to_give_Depth()
    {
        // ConvertTo-Json's default depth 2 writes each share as "@{Unit=...}" text.
        var flat = "{\"Model\":\"net\",\"BatchSize\":10,\"Algorithm\":0,\"PredictedMs\":5,\"BestSingleUnit\":\"gpu0\",\"BestSingleUnitMs\":6," +
                   "\"Shares\":[\"@{Unit=gpu0; Items=10}\"]}";
        var ex = Assert.Throws<HeteroBatchException>(() => ChartInputReader.ReadFile(Write("flat.json", flat)));
        Assert.Equal(ChartErrorIds.ChartInputCorrupt, ex.ErrorId);
        Assert.Contains("-Depth", ex.Message);
    }

    [Theory]
    [InlineData("missing", ChartErrorIds.ChartInputNotFound)]
    [InlineData("{ not json", ChartErrorIds.ChartInputCorrupt)]
    [InlineData("{\"name\":\"x\"}", ChartErrorIds.UnrecognizedChartInput)]
    [InlineData("[]", ChartErrorIds.NoChartInput)]
    [InlineData("   ", ChartErrorIds.NoChartInput)]
    [InlineData("Name,Size\r\na,1\r\n", ChartErrorIds.UnrecognizedChartInput)]
    [InlineData("Unit,BatchSize,ExecMs\r\ngpu0,four,1\r\n", ChartErrorIds.ChartInputCorrupt)]
    [InlineData("Unit,BatchSize,ExecMs\r\ngpu0,0,1\r\n", ChartErrorIds.ChartInputCorrupt)]
    [InlineData("Unit,BatchSize\r\ngpu0,4\r\n", ChartErrorIds.ChartInputCorrupt)]
    [InlineData("Unit,BatchSize,ExecMs\r\n\"gpu0,4,1\r\n", ChartErrorIds.ChartInputCorrupt)]
    public void Bad_files_are_refused_with_stable_ids(string content, string errorId)
    {
        var path = content == "missing" ? Path.Combine(_dir, "nope.json") : Write("bad.txt", content);
        var ex = Assert.Throws<HeteroBatchException>(() => ChartInputReader.ReadFile(path));
        Assert.Equal(errorId, ex.ErrorId);
    }

    [Fact]
    public void Two_plans_in_one_file_are_too_many_and_a_mix_is_refused()
    {
        var plans = JsonSerializer.Serialize(new[] { PaperPlan(10), PaperPlan(20) });
        Assert.Equal(ChartErrorIds.TooManyChartInputs, Assert.Throws<HeteroBatchException>(() => ChartInputReader.ReadFile(Write("p.json", plans))).ErrorId);
        var mixed = "[" + JsonSerializer.Serialize(PaperPlan(10)) + "," + JsonSerializer.Serialize(PaperRows()[0]) + "]";
        Assert.Equal(ChartErrorIds.MixedChartInput, Assert.Throws<HeteroBatchException>(() => ChartInputReader.ReadFile(Write("m.json", mixed))).ErrorId);
    }

    [Fact]
    public void Combine_takes_rows_or_one_plan_or_one_result()
    {
        var none = Array.Empty<PerfEntry>();
        var noPlans = Array.Empty<BatchPlan>();
        var noResults = Array.Empty<InferenceResult>();
        Assert.Equal(ChartKind.PerfTable, ChartInput.Combine(PaperRows(), noPlans, noResults).Kind);
        Assert.Equal(ChartKind.Plan, ChartInput.Combine(none, new[] { PaperPlan() }, noResults).Kind);
        Assert.Equal(ChartKind.Result, ChartInput.Combine(none, noPlans, new[] { PaperResult(1, 1, 1, 1) }).Kind);
        Assert.Equal(ChartErrorIds.NoChartInput, Assert.Throws<HeteroBatchException>(() => ChartInput.Combine(none, noPlans, noResults)).ErrorId);
        Assert.Equal(ChartErrorIds.MixedChartInput, Assert.Throws<HeteroBatchException>(() => ChartInput.Combine(PaperRows(), new[] { PaperPlan() }, noResults)).ErrorId);
        Assert.Equal(ChartErrorIds.TooManyChartInputs, Assert.Throws<HeteroBatchException>(() => ChartInput.Combine(none, new[] { PaperPlan(), PaperPlan(50) }, noResults)).ErrorId);
    }

    [Fact]
    public void Fields_of_a_property_bag_become_a_row()
    {
        var fields = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Id"] = "cpu:0", ["BatchSize"] = "16", ["ExecMs"] = 12.5, ["IoMs"] = "0.5", ["Model"] = "tinynet", ["PSComputerName"] = "node3",
        };
        var row = ChartInputReader.PerfEntryFromFields(fields, "test");
        Assert.Equal(("cpu:0", 16, 13.0, "node3", PerfStatus.Ok), (row.Unit, row.BatchSize, row.TotalMs, row.MachineName, row.Status));
    }
}
