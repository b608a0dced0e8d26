using System.Globalization;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Planning;

/// <summary>
/// The seed paper's own measured tables (Data/seed-tables.csv, copied from shared/seed): Seed must give the split
/// a faithful port of Partition.py gives at N = 100 (shared/seed/README.md), and Optimal must never be worse.
/// </summary>
public class SeedPaperTableTests
{
    private static readonly string[] Units = { "cpu", "igpu", "gpu" };

    // network, split cpu/igpu/gpu, its makespan (ms) and the GPU alone (ms), as shared/seed/README.md has them.
    public static TheoryData<string, int, int, int, double, double> Expected => new()
    {
        { "mobilenet", 11, 5, 84, 142, 168 },
        { "squeezenet_v1.0", 31, 19, 50, 426, 863 },
        { "squeezenet_v1.1", 41, 19, 40, 249, 621 },
        { "resnet-18", 15, 33, 52, 416, 777 },
        { "resnet-34", 13, 38, 49, 708, 1458 },
        { "resnet-50", 15, 10, 75, 996, 1327 },
        { "vgg-16", 7, 39, 54, 1849, 3594 },
        { "vgg-19", 7, 41, 52, 2288, 4539 },
        { "inception_v3", 41, 44, 15, 3948, 26807 },
        { "densenet-121", 18, 40, 42, 9554, 166371 },
    };

    internal static IReadOnlyList<PerfEntry> Rows()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Planning", "Data", "seed-tables.csv");
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).Select(f => new PerfEntry
        {
            Model = f[Col("Model")], MachineName = f[Col("MachineName")], Unit = f[Col("Unit")], DeviceName = f[Col("DeviceName")],
            BatchSize = int.Parse(f[Col("BatchSize")], CultureInfo.InvariantCulture),
            ExecMs = double.Parse(f[Col("ExecMs")], CultureInfo.InvariantCulture),
            IoMs = double.Parse(f[Col("IoMs")], CultureInfo.InvariantCulture),
        }).ToList();
    }

    [Theory]
    [MemberData(nameof(Expected))]
    public void Seed_ReproducesTheFaithfulPortsSplit_AndOptimalIsNeverWorse(string network, int cpu, int igpu, int gpu, double makespan, double gpuAlone)
    {
        var rows = Rows();
        var request = new PlanRequest { Model = network, BatchSize = 100, Units = Units, MachineName = "paper-i7-9700k", Algorithm = PlanAlgorithm.Seed };
        var seed = BatchPlanner.Plan(rows, request);
        var model = CostModel.FromTable(rows, network, "", Units, "paper-i7-9700k");

        // The README scores a split with plain per-item interpolation (no padding or chunking), and beyond the
        // largest measured size with that size's per-item time.
        double Plain(int[] split) => split.Select((n, u) => PlainMs(model.Units[u], n)).Max();
        var split = seed.Shares.Select(s => s.Items).ToArray();
        Assert.Equal(100, split.Sum());
        Assert.Equal(gpuAlone, Math.Round(PlainMs(model.Units[2], 100)));
        if (!split.SequenceEqual(new[] { cpu, igpu, gpu }))
            // A floating-point tie may flip one choice (the CSV rounds the pickled times): then the makespan must agree.
            Assert.True(Math.Abs(Plain(split) - Plain(new[] { cpu, igpu, gpu })) <= 0.001 * Plain(new[] { cpu, igpu, gpu }),
                $"{network}: split {string.Join("/", split)} ({Plain(split):0.#} ms), expected {cpu}/{igpu}/{gpu}");
        Assert.Equal(makespan, Math.Round(Plain(split)), 0);

        var optimal = BatchPlanner.Plan(rows, request with { Algorithm = PlanAlgorithm.Optimal });
        Assert.True(optimal.PredictedMs <= seed.PredictedMs, $"{network}: optimal {optimal.PredictedMs} > seed {seed.PredictedMs}");
        Assert.True(optimal.PredictedMs <= Plain(split), $"{network}: optimal {optimal.PredictedMs} > seed's plain {Plain(split)}");
    }

    internal static double PlainMs(UnitCostCurve unit, int items) =>
        items == 0 ? 0
        : items <= unit.MaxBatchSize ? unit.DirectMs(items)
        : unit.Points[^1].TotalMs / unit.MaxBatchSize * items;

    [Fact]
    public void Seed_DecidesByTheSeedsEstimate_NotThePlannersCurves()
    {
        // On the same rows, the search run on the planner's curves lands elsewhere for some network; only the
        // seed's estimate (exec alone at measured sizes) gives the README's splits.
        var rows = Rows();
        int differ = 0;
        foreach (var network in Expected.Select(e => (string)e[0]))
        {
            var model = CostModel.FromTable(rows, network, "", Units, "paper-i7-9700k");
            var onCurves = SeedSearch.Split(model.Units.Select(u => (Func<int, double>)u.Cost).ToArray(), 100).Items;
            var onEstimate = SeedSearch.Split(model.Units.Select(u => SeedEstimate.ForCurve(u, rows, network, "")!).ToArray(), 100).Items;
            if (!onCurves.SequenceEqual(onEstimate)) differ++;
        }
        Assert.True(differ > 0);
    }
}
