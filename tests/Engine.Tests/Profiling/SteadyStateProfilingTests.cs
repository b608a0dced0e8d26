using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using Xunit;

namespace HeteroBatch.Engine.Tests.Profiling;

/// <summary>
/// The profiler measures steady state: each size is warmed (the session's one-time setup) and run until two runs
/// agree before it is timed, and a one-time cost never makes a unit TooSlow. Real tinynet runs on the CPU behind a
/// wrapper that adds the costs a GPU session has.
/// </summary>
[Collection(nameof(MeasuredTimesCollection))]
public sealed class SteadyStateProfilingTests : IClassFixture<TinyNetOnCpu>
{
    private readonly TinyNetOnCpu _tiny;
    public SteadyStateProfilingTests(TinyNetOnCpu tiny) => _tiny = tiny;

    /// <summary>A real session whose first run at a size costs <c>setup</c> (unless warmed first), and whose next
    /// runs at that size slow down by the given delays before they settle.</summary>
    private sealed class SettlingSession(IInferenceSession inner, TimeSpan setup, int[] settleMs, bool warmable) : IInferenceSession, IWarmableSession
    {
        public readonly Dictionary<int, int> Runs = new();
        public readonly List<int> InputOffsets = new();
        public long InputArrayLength;
        public readonly List<int> Warmed = new();
        private readonly HashSet<int> _warm = new();

        public ModelInfo Model => inner.Model;
        public ComputeUnit Unit => inner.Unit;
        public BackendOptions Options => inner.Options;
        public bool IsWarm(int batchSize) => !warmable || _warm.Contains(batchSize);

        public void WarmUp(int batchSize, CancellationToken cancellationToken = default)
        {
            Thread.Sleep(setup);
            _warm.Add(batchSize);
            Warmed.Add(batchSize);
        }

        public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk) { }

        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
        {
            if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(input, out var segment))
            {
                InputOffsets.Add(segment.Offset);
                InputArrayLength = segment.Array!.LongLength;
            }
            int k = Runs.GetValueOrDefault(batchSize);
            Runs[batchSize] = k + 1;
            if (_warm.Add(batchSize)) Thread.Sleep(setup);
            if (k < settleMs.Length) Thread.Sleep(settleMs[k]);
            return inner.Run(input, output, batchSize, cancellationToken);
        }

        public void Dispose() => inner.Dispose();
    }

    private SettlingSession Open(TimeSpan setup, int[] settle, bool warmable) =>
        new(BackendRegistry.Default.CreateSession(_tiny.Model, _tiny.Cpu, BackendOptions.Default), setup, settle, warmable);

    [Fact]
    public void A_warmable_session_is_warmed_at_every_size_and_its_setup_is_neither_timed_nor_TooSlow()
    {
        var session = Open(TimeSpan.FromMilliseconds(300), Array.Empty<int>(), warmable: true);
        var profiler = new BatchProfiler((_, _, _) => session, disposeSessions: true);
        var options = new ProfileOptions { BatchSizes = new[] { 1, 2, 4 }, Refine = false, MaxSecondsPerRun = 0.2, Repeats = 3 };

        var rows = profiler.Profile(_tiny.Model, _tiny.Cpu, options).ToList();

        Assert.All(rows, r => Assert.Equal(PerfStatus.Ok, r.Status));
        Assert.Equal(new[] { 1, 2, 4 }, session.Warmed);
        Assert.All(rows, r => Assert.True(r.TotalMs < 150, $"batch {r.BatchSize} timed {r.TotalMs} ms, its 300 ms setup included"));
    }

    [Fact]
    public void A_first_run_at_a_new_size_is_never_TooSlow_even_without_the_warm_up_seam()
    {
        var session = Open(TimeSpan.FromMilliseconds(300), Array.Empty<int>(), warmable: false);
        var profiler = new BatchProfiler((_, _, _) => session, disposeSessions: true);
        var options = new ProfileOptions { BatchSizes = new[] { 1, 2 }, Refine = false, MaxSecondsPerRun = 0.2, Repeats = 3 };
        Assert.All(profiler.Profile(_tiny.Model, _tiny.Cpu, options), r => Assert.Equal(PerfStatus.Ok, r.Status));
    }

    [Fact]
    public void Warm_up_goes_on_until_two_runs_agree()
    {
        // Runs 1-4 at each size are 80, 60, 40, 20 ms slower; from run 5 on, steady.
        var session = Open(TimeSpan.Zero, new[] { 80, 60, 40, 20 }, warmable: true);
        var profiler = new BatchProfiler((_, _, _) => session, disposeSessions: true);
        var options = new ProfileOptions { BatchSizes = new[] { 2 }, Refine = false, WarmupRuns = 2, Repeats = 3, MaxWarmupRuns = 10, StableTolerance = 0.05 };

        var row = profiler.Profile(_tiny.Model, _tiny.Cpu, options).Single();

        Assert.True(session.Runs[2] >= 4 + 3, $"{session.Runs[2]} runs: warming stopped before the session settled");
        Assert.True(row.TotalMs < 15, $"timed {row.TotalMs} ms: unsettled runs were timed");
    }

    [Fact]
    public void WarmupRuns_zero_still_means_no_warm_up()
    {
        var session = Open(TimeSpan.Zero, Array.Empty<int>(), warmable: false);
        var profiler = new BatchProfiler((_, _, _) => session, disposeSessions: true);
        var options = new ProfileOptions { BatchSizes = new[] { 2 }, Refine = false, WarmupRuns = 0, Repeats = 3 };
        profiler.Profile(_tiny.Model, _tiny.Cpu, options).ToList();
        Assert.Equal(3, session.Runs[2]);
    }

    [Fact]
    public void Every_run_reads_a_window_of_the_input_the_run_before_did_not()
    {
        var session = Open(TimeSpan.Zero, Array.Empty<int>(), warmable: false);
        var profiler = new BatchProfiler((_, _, _) => session, disposeSessions: true);
        var options = new ProfileOptions { BatchSizes = new[] { 4 }, Refine = false, WarmupRuns = 2, Repeats = 5 };
        profiler.Profile(_tiny.Model, _tiny.Cpu, options).ToList();
        Assert.True(session.InputOffsets.Count >= 7);
        for (int i = 1; i < session.InputOffsets.Count; i++) Assert.NotEqual(session.InputOffsets[i - 1], session.InputOffsets[i]);
        // The buffer cycled through is larger than a last-level cache.
        Assert.True(session.InputArrayLength * sizeof(float) >= 64L << 20, $"{session.InputArrayLength * sizeof(float)} bytes");
    }
}
