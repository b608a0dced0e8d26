using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Profiling;
using Xunit;

namespace HeteroBatch.Engine.Tests.Profiling;

/// <summary>Refinement's decisions and the grid, on synthetic cost functions (no sessions).</summary>
public class CurveRefinerTests
{
    private static readonly IReadOnlyList<int> Grid = ProfileOptions.DefaultGrid;

    [Fact]
    public void DefaultGridIsThePapersGrid()
    {
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129 }, Grid);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100 }, ProfileOptions.BuildGrid(100));
        var big = ProfileOptions.BuildGrid(300);
        Assert.Equal(new[] { 255, 256, 257, 300 }, big.Skip(big.Count - 4));
        Assert.Equal(new[] { 1 }, ProfileOptions.BuildGrid(1));
    }

    [Fact]
    public void LinearCostAddsNoPoint()
    {
        var (kept, measured) = CurveRefiner.Run(Grid, b => 0.7 + 0.3 * b, tolerance: 0.10, minDeltaMs: 0, maxExtra: 50);
        Assert.Empty(kept);
        // Each gap of 2 or more was examined once, and not split further.
        var gaps = Grid.Zip(Grid.Skip(1)).Count(g => g.Second - g.First >= 2);
        Assert.Equal(gaps, measured.Count);
    }

    [Fact]
    public void PointsAreAddedOnlyWhereTheCurveBends()
    {
        // Flat-rate up to 40 items, then each item costs five times more (a unit saturating).
        static double Cost(int b) => b <= 40 ? b : 40 + 5.0 * (b - 40);
        var (kept, measured) = CurveRefiner.Run(Grid, Cost, tolerance: 0.10, minDeltaMs: 0, maxExtra: 50);

        Assert.Equal(new[] { 40, 48 }, kept);
        Assert.All(kept, b => Assert.InRange(b, 34, 62));            // inside the grid gap that holds the knee
        // Every grid gap was looked at once (widest first); only the knee's gap was split further.
        Assert.Equal(new[] { 96, 48, 24, 12, 6, 40, 55, 36, 44 }, measured);
    }

    [Fact]
    public void ToleranceAndNoiseFloorDecide()
    {
        static double Cost(int b) => b <= 40 ? b : 40 + 5.0 * (b - 40);
        // A 10x tolerance accepts any interpolation error.
        Assert.Empty(CurveRefiner.Run(Grid, Cost, tolerance: 10, minDeltaMs: 0, maxExtra: 50).Kept);
        // A bend of tiny absolute size is below the noise floor.
        Assert.Empty(CurveRefiner.Run(Grid, b => Cost(b) * 1e-4, tolerance: 0.10, minDeltaMs: 0.05, maxExtra: 50).Kept);
        Assert.NotEmpty(CurveRefiner.Run(Grid, b => Cost(b) * 1e-4, tolerance: 0.10, minDeltaMs: 0, maxExtra: 50).Kept);

        // A deviation within the midpoint's measured spread is noise too.
        var refiner = new CurveRefiner(new[] { (1, 1.0), (9, 9.0) }, 0.10, 0, 5);
        Assert.True(refiner.TryNext(out var mid));
        Assert.Equal(5, mid);
        Assert.Equal(5.0, refiner.Interpolated, 12);
        Assert.False(refiner.Report(7.0, spreadMs: 2.5));
        Assert.Empty(refiner.Kept);
    }

    [Fact]
    public void ExtraMeasurementsAreBounded()
    {
        // A curve that bends everywhere.
        var (kept, measured) = CurveRefiner.Run(Grid, b => b % 2 == 0 ? b * 3.0 : b, tolerance: 0.10, minDeltaMs: 0, maxExtra: 7);
        Assert.Equal(7, measured.Count);
        Assert.True(kept.Count <= 7);
        Assert.Empty(CurveRefiner.Run(Grid, b => b * b, 0.10, 0, maxExtra: 0).Measured);
    }

    [Fact]
    public void PlanGridValidatesAndRespectsTheModelsLimit()
    {
        var model = new ModelInfo
        {
            Name = "m", Path = "/m.onnx", Hash = "00", Source = "file", InputName = "x", InputItemShape = new[] { 4 },
            OutputName = "y", OutputItemShape = new[] { 2 },
        };
        Assert.Equal(Grid, BatchProfiler.PlanGrid(model, new ProfileOptions()));
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16 }, BatchProfiler.PlanGrid(model with { MaxBatchSize = 16 }, new ProfileOptions()));
        Assert.Equal(new[] { 2, 6, 10 }, BatchProfiler.PlanGrid(model, new ProfileOptions { BatchSizes = new[] { 10, 2, 6, 2 } }));

        foreach (var bad in new[] { new[] { 0 }, new[] { 4, -1 }, Array.Empty<int>() })
        {
            var ex = Assert.Throws<HeteroBatchException>(() => BatchProfiler.PlanGrid(model, new ProfileOptions { BatchSizes = bad }));
            Assert.Equal("InvalidBatchSize", ex.ErrorId);
            Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        }
        Assert.Equal("InvalidBatchSize", Assert.Throws<HeteroBatchException>(() =>
            BatchProfiler.PlanGrid(model with { MaxBatchSize = 8 }, new ProfileOptions { BatchSizes = new[] { 9 } })).ErrorId);
        Assert.Equal("InvalidBatchSize", Assert.Throws<HeteroBatchException>(() =>
            BatchProfiler.PlanGrid(model, new ProfileOptions { MaxBatchSize = 0 })).ErrorId);
    }

    [Fact]
    public void MedianAndInterquartileRange()
    {
        Assert.Equal(3, BatchProfiler.Median(new double[] { 5, 1, 3 }));
        Assert.Equal(2.5, BatchProfiler.Median(new double[] { 4, 1, 2, 3 }));
        Assert.Equal(2, BatchProfiler.InterquartileRange(new double[] { 1, 2, 3, 4, 5 }));
        Assert.Equal(0, BatchProfiler.InterquartileRange(new double[] { 7 }));
    }

    [Fact]
    public void RandomInputIsSeeded()
    {
        var model = new ModelInfo
        {
            Name = "m", Path = "/m.onnx", Hash = "00", Source = "file", InputName = "x", InputItemShape = new[] { 3, 4 },
            OutputName = "y", OutputItemShape = new[] { 2 },
        };
        var a = BatchProfiler.RandomInput(model, 5, seed: 7);
        Assert.Equal(60, a.Length);
        Assert.Equal(a, BatchProfiler.RandomInput(model, 5, seed: 7));
        Assert.NotEqual(a, BatchProfiler.RandomInput(model, 5, seed: 8));
        Assert.All(a, v => Assert.InRange(v, 0f, 1f));
    }
}
