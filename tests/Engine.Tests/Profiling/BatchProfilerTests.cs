using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Tests.Table;
using HeteroBatch.Engine.Units;
using Xunit;
using Xunit.Abstractions;

namespace HeteroBatch.Engine.Tests.Profiling;

/// <summary>tinynet resolved once into a private cache folder, and the machine's CPU unit.</summary>
public sealed class TinyNetOnCpu : IDisposable
{
    private readonly TempFolder _cache = new();

    public TinyNetOnCpu()
    {
        Model = ModelResolver.Resolve("tinynet", _cache.Path);
        Cpu = ComputeUnitDiscovery.Find("cpu");
    }

    public ModelInfo Model { get; }
    public ComputeUnit Cpu { get; }

    public void Dispose() => _cache.Dispose();
}

/// <summary>The profiler on real ONNX Runtime CPU sessions of tinynet.</summary>
[Collection(nameof(MeasuredTimesCollection))]
public class BatchProfilerTests : IClassFixture<TinyNetOnCpu>
{
    private readonly TinyNetOnCpu _tiny;
    private readonly ITestOutputHelper _log;

    public BatchProfilerTests(TinyNetOnCpu tiny, ITestOutputHelper log)
    {
        _tiny = tiny;
        _log = log;
    }

    private static ProfileOptions Quick(params int[] sizes) => new()
    {
        BatchSizes = sizes,
        WarmupRuns = 1,
        Repeats = 3,
        Refine = false,
        BackendOptions = new BackendOptions { IntraOpThreads = 1 },
    };

    [Fact]
    public void ProfilesAGridIntoCompleteRows()
    {
        var reports = new List<ProfileProgress>();
        var rows = new BatchProfiler()
            .Profile(_tiny.Model, _tiny.Cpu, Quick(1, 2, 4, 8, 16, 32) with { WarmupRuns = 2, Repeats = 5 }, new SyncProgress<ProfileProgress>(reports.Add))
            .ToList();
        foreach (var r in rows) _log.WriteLine($"{r.BatchSize,4} exec {r.ExecMs,8:0.000} io {r.IoMs,6:0.000} spread {r.SpreadMs:0.000}");

        Assert.Equal(new[] { 1, 2, 4, 8, 16, 32 }, rows.Select(r => r.BatchSize));
        Assert.All(rows, r =>
        {
            Assert.Equal(PerfStatus.Ok, r.Status);
            Assert.Equal(5, r.Repeats);
            Assert.True(r.ExecMs > 0, "exec time must be positive");
            Assert.True(r.IoMs >= 0, "I/O time must not be negative");
            Assert.True(r.SpreadMs >= 0);
            Assert.Equal("tinynet", r.Model);
            Assert.Equal(_tiny.Model.Hash, r.ModelHash);
            Assert.Equal("cpu", r.Unit);
            Assert.Equal(_tiny.Cpu.Name, r.DeviceName);
            Assert.Equal(BackendNames.OrtCpu, r.Backend);
            Assert.Equal("threads=1", r.BackendOptions);
            Assert.Equal(_tiny.Cpu.MachineName, r.MachineName);
        });
        // More items never cost (much) less: non-decreasing within noise (20 % + 1 ms).
        for (int i = 0; i < rows.Count; i++)
            for (int j = i + 1; j < rows.Count; j++)
                Assert.True(rows[j].TotalMs * 1.2 + 1.0 >= rows[i].TotalMs,
                    $"batch {rows[j].BatchSize} took {rows[j].TotalMs:0.000} ms, batch {rows[i].BatchSize} {rows[i].TotalMs:0.000} ms");

        Assert.Equal(ProfilePhase.Opening, reports[0].Phase);
        Assert.Equal(ProfilePhase.Completed, reports[^1].Phase);
        Assert.Equal(6, reports[^1].PointsDone);
        Assert.Equal(6, reports[^1].PointsTotal);
        Assert.Equal(new[] { 1, 2, 4, 8, 16, 32 }, reports.Where(p => p.Phase == ProfilePhase.Grid).Select(p => p.BatchSize));

        // The rows are table rows as they are.
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        Assert.Equal(6, store.Merge(rows).Added);
        var matrix = PerfMatrix.Build(store.Read().ForModel(_tiny.Model));
        Assert.Equal(new[] { "cpu" }, matrix.Columns);
        Assert.Equal(6, matrix.Rows.Count);
    }

    [Fact]
    public void DefaultOptionsMeasureThePapersGrid()
    {
        var options = new ProfileOptions { BackendOptions = new BackendOptions { IntraOpThreads = 1 } };
        var rows = new BatchProfiler().Profile(_tiny.Model, new[] { _tiny.Cpu }, options).ToList();
        _log.WriteLine(string.Join(" ", rows.Select(r => $"{r.BatchSize}:{r.TotalMs:0.00}")));
        Assert.Equal(ProfileOptions.DefaultGrid, rows.Take(ProfileOptions.DefaultGrid.Count).Select(r => r.BatchSize));
        Assert.All(rows, r => Assert.Equal(PerfStatus.Ok, r.Status));
        Assert.All(rows, r => Assert.Equal(5, r.Repeats));
        var extra = rows.Skip(ProfileOptions.DefaultGrid.Count).Select(r => r.BatchSize).ToList();
        Assert.True(extra.Count <= options.MaxRefinePoints);
        Assert.All(extra, b => Assert.DoesNotContain(b, ProfileOptions.DefaultGrid));
    }

    [Fact]
    public void RowsStreamAsTheyAreMeasured()
    {
        var reports = new List<ProfileProgress>();
        var first = new BatchProfiler()
            .Profile(_tiny.Model, _tiny.Cpu, Quick(1, 2, 4), new SyncProgress<ProfileProgress>(reports.Add))
            .First();
        Assert.Equal(1, first.BatchSize);
        // Only the first point was measured before the row came out.
        Assert.DoesNotContain(reports, p => p.BatchSize == 2);
    }

    [Fact]
    public void RefinementAddsOnlyBetweenGridNeighboursAndWithinItsBudget()
    {
        var grid = new[] { 1, 2, 16, 32, 64 };
        var options = Quick(grid) with { Refine = true, RefineTolerance = 0.05, MinRefineDeltaMs = 0, MaxRefinePoints = 4 };
        var reports = new List<ProfileProgress>();
        var rows = new BatchProfiler().Profile(_tiny.Model, _tiny.Cpu, options, new SyncProgress<ProfileProgress>(reports.Add)).ToList();

        Assert.Equal(grid, rows.Take(grid.Length).Select(r => r.BatchSize));
        var extra = rows.Skip(grid.Length).ToList();
        var examined = reports.Where(p => p.Phase == ProfilePhase.Refining).Select(p => p.BatchSize).ToList();
        _log.WriteLine($"examined {string.Join(",", examined)}; kept {string.Join(",", extra.Select(e => e.BatchSize))}");
        Assert.InRange(examined.Count, 1, 4);
        Assert.All(extra, e =>
        {
            Assert.DoesNotContain(e.BatchSize, grid);
            Assert.Contains(e.BatchSize, examined);
            Assert.InRange(e.BatchSize, 2, 64);
        });

        // With a tolerance no curve can break, refinement examines points but keeps none.
        var none = new BatchProfiler().Profile(_tiny.Model, _tiny.Cpu, options with { RefineTolerance = 1000 }).ToList();
        Assert.Equal(grid, none.Select(r => r.BatchSize));
    }

    [Fact]
    public void TimeBudgetStopsGrowingTheBatch()
    {
        var options = Quick(1, 2, 4, 8) with { WarmupRuns = 2, MaxSecondsPerRun = 1e-9 };
        var rows = new BatchProfiler().Profile(_tiny.Model, _tiny.Cpu, options).ToList();
        // The session's first run is exempt (start-up); the next one is over budget.
        var row = Assert.Single(rows);
        Assert.Equal(1, row.BatchSize);
        Assert.Equal(PerfStatus.TooSlow, row.Status);
        Assert.True(row.ExecMs > 0);
    }

    [Fact]
    public void OutOfMemoryRecordsTheUnitsLimitAndStops()
    {
        // A real session whose unit "runs out of memory" above 8 items, as a GPU would; the profiler
        // must record the limit as a row, not fail, and try nothing larger.
        var attempted = new List<int>();
        var profiler = new BatchProfiler((m, u, o) =>
            new MemoryLimitedSession(BackendRegistry.Default.CreateSession(m, u, o), 8, attempted), disposeSessions: true);
        var rows = profiler.Profile(_tiny.Model, _tiny.Cpu, Quick(1, 4, 8, 9, 16, 32) with { Refine = true }).ToList();

        Assert.Equal(new[] { 1, 4, 8, 9 }, rows.Select(r => r.BatchSize).Take(4));
        Assert.All(rows.Where(r => r.BatchSize <= 8), r => Assert.Equal(PerfStatus.Ok, r.Status));
        var limit = Assert.Single(rows, r => r.BatchSize == 9);
        Assert.Equal(PerfStatus.OutOfMemory, limit.Status);
        Assert.Equal(0, limit.Repeats);
        Assert.DoesNotContain(attempted, b => b > 9);
        Assert.All(rows, r => Assert.True(r.BatchSize <= 9));
    }

    [Fact]
    public void A_session_it_opens_records_the_setup_costs_and_one_already_open_leaves_them_unknown()
    {
        // A registry of its own: the session is cold for the first profile, open (and warm) for the second.
        using var cache = new SessionCache();
        var registry = new BackendRegistry(BackendRegistry.Default.Backends, cache);
        var cold = new BatchProfiler(registry).Profile(_tiny.Model, _tiny.Cpu, Quick(1, 4, 8)).ToList();
        foreach (var r in cold) _log.WriteLine($"{r.BatchSize,4} open {r.OpenMs:0.000} warm-up {r.WarmUpMs:0.000}");
        // Opening and the first run: one number for the unit, on every row; a CPU warms once, so no size costs more.
        Assert.All(cold, r => Assert.True(r.OpenMs > 0));
        Assert.Single(cold.Select(r => r.OpenMs).Distinct());
        Assert.All(cold, r => Assert.Equal(0, r.WarmUpMs));

        var again = new BatchProfiler(registry).Profile(_tiny.Model, _tiny.Cpu, Quick(1, 4)).ToList();
        Assert.All(again, r => Assert.Null(r.OpenMs));
        Assert.All(again, r => Assert.Null(r.WarmUpMs));

        // A private session per unit (disposeSessions) is always opened cold.
        var own = new BatchProfiler((m, u, o) => BackendRegistry.Default.CreateSession(m, u, o), disposeSessions: true)
            .Profile(_tiny.Model, _tiny.Cpu, Quick(2)).Single();
        Assert.True(own.OpenMs > 0);
    }

    [Fact]
    public void CancellationStopsBetweenRuns()
    {
        using var cts = new CancellationTokenSource();
        var seen = new List<int>();
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var row in new BatchProfiler().Profile(_tiny.Model, _tiny.Cpu, Quick(1, 2, 4, 8), cancellationToken: cts.Token))
            {
                seen.Add(row.BatchSize);
                cts.Cancel();
            }
        });
        Assert.Equal(new[] { 1 }, seen);

        var cancelled = new CancellationToken(canceled: true);
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new BatchProfiler().Profile(_tiny.Model, _tiny.Cpu, Quick(1), cancellationToken: cancelled).ToList());
    }

    [Fact]
    public void InvalidArgumentsFailBeforeAnyRun()
    {
        var profiler = new BatchProfiler();
        foreach (var sizes in new[] { new[] { 0 }, new[] { 4, -2 } })
        {
            // Thrown by the call itself, not on enumeration.
            var ex = Assert.Throws<HeteroBatchException>(() => profiler.Profile(_tiny.Model, _tiny.Cpu, Quick(sizes)));
            Assert.Equal("InvalidBatchSize", ex.ErrorId);
        }

        var gone = _tiny.Cpu with { Id = "gpu7", Available = false, Reason = "No CUDA driver found; install the NVIDIA driver." };
        var unavailable = Assert.Throws<HeteroBatchException>(() => profiler.Profile(_tiny.Model, gone, Quick(1)));
        Assert.Equal("UnitUnavailable", unavailable.ErrorId);
        Assert.Equal(ErrorKind.ResourceUnavailable, unavailable.Kind);
        Assert.Contains("install the NVIDIA driver", unavailable.Message);

        Assert.Equal("InvalidProfileOptions", Assert.Throws<HeteroBatchException>(() =>
            profiler.Profile(_tiny.Model, _tiny.Cpu, Quick(1) with { Repeats = 0 })).ErrorId);
        Assert.Equal("InvalidProfileOptions", Assert.Throws<HeteroBatchException>(() =>
            profiler.Profile(_tiny.Model, Array.Empty<ComputeUnit>(), Quick(1))).ErrorId);
    }

    /// <summary>Delegates to a real session; above <c>limit</c> items it fails as a full GPU does.</summary>
    private sealed class MemoryLimitedSession : IInferenceSession
    {
        private readonly IInferenceSession _inner;
        private readonly int _limit;
        private readonly List<int> _attempted;

        public MemoryLimitedSession(IInferenceSession inner, int limit, List<int> attempted)
        {
            _inner = inner;
            _limit = limit;
            _attempted = attempted;
        }

        public ModelInfo Model => _inner.Model;
        public ComputeUnit Unit => _inner.Unit;
        public BackendOptions Options => _inner.Options;

        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
        {
            _attempted.Add(batchSize);
            if (batchSize > _limit)
                throw new HeteroBatchException("UnitOutOfMemory", ErrorKind.DeviceError, $"Out of memory at batch {batchSize}.", Unit.Id);
            return _inner.Run(input, output, batchSize, cancellationToken);
        }

        public void Dispose() => _inner.Dispose();
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
