using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Streaming;
using HeteroBatch.Engine.Tests.Execution;
using Xunit;

namespace HeteroBatch.Engine.Tests.Streaming;

/// <summary>
/// The Pull schedule of DatasetStream end to end on two CPU slices (cpu:2, cpu:3 of 4) with the zoo's tinynet (real ONNX Runtime sessions):
/// the same rows as PerBatch, items in input order, bounded buffers, bad items, cancel and resume. No timing asserts.
/// </summary>
public sealed class PullScheduleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-pull-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ProfileOptions QuickProfile = new() { WarmupRuns = 1, Repeats = 1, Refine = false };

    private DatasetRequest Request(string input, StreamSchedule schedule, string? output = null) => new()
    {
        Model = "tinynet",
        ModelCacheDirectory = ExecutionTestModels.CacheDirectory,
        Paths = new[] { input },
        // Slices no other test uses: tests that inject unit failures evict the cached sessions of the slices they fail
        // (cpu:1), which would close a session these tests are running on when the classes run in parallel.
        Units = new[] { "cpu:2", "cpu:3" },
        Schedule = schedule,
        BatchSize = 8,
        BatchesInFlight = 3,
        DecodeWorkers = 2,
        OutputPath = output,
        PerfTablePath = Path.Combine(_dir, "perf.json"),
        ProfileOptions = QuickProfile,
    };

    private static void AssertSameRows(string expected, string actual)
    {
        var (a, aShape) = NpyFile.Read(expected);
        var (b, bShape) = NpyFile.Read(actual);
        Assert.Equal(aShape, bShape);
        for (int i = 0; i < a.Length; i++)
        {
            if (float.IsNaN(a[i])) { Assert.True(float.IsNaN(b[i]), $"element {i}"); continue; }
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4f + 1e-4f * Math.Abs(a[i]), $"element {i}: {a[i]} vs {b[i]}");
        }
    }

    [Fact]
    public void Pull_writes_the_same_rows_as_PerBatch_in_input_order_with_at_most_BatchesInFlight_buffers()
    {
        var images = DatasetStreamTests.MakeImages(Path.Combine(_dir, "imgs"), 61);
        var perBatch = Path.Combine(_dir, "perbatch.npy");
        var reference = new DatasetStream(Request(images, StreamSchedule.PerBatch, perBatch)).Run(null, null, null, default);
        Assert.Equal("PerBatch", reference.Schedule);

        var pulled = Path.Combine(_dir, "pull.npy");
        var seen = new List<DatasetItemResult>();
        var progress = new List<DatasetProgress>();
        // A slow consumer lets the decoders and the units run ahead as far as the window allows.
        var summary = new DatasetStream(Request(images, StreamSchedule.Pull, pulled) with { Top = 2, IncludeOutput = true })
            .Run(item => { seen.Add(item); if (seen.Count % 8 == 0) Thread.Sleep(10); }, null, new SyncProgress<DatasetProgress>(progress.Add), default);

        Assert.Equal("Pull", summary.Schedule);
        Assert.Equal(61, summary.Items);
        Assert.Equal(8, summary.Batches); // 7 of 8 and one of 5
        Assert.InRange(summary.PeakBuffersInUse, 1, 3); // 61 items, 8 batches, never more than 3 buffers
        Assert.Equal(Enumerable.Range(0, 61).Select(i => (long)i), seen.Select(s => s.Index));
        Assert.Equal(Enumerable.Range(0, 61).Select(i => Path.Combine(images, $"img{i:D3}.jpg")), seen.Select(s => s.Path));
        Assert.Equal(2, seen[60].TopClasses.Split(' ').Length);
        AssertSameRows(perBatch, pulled);
        var (rows, _) = NpyFile.Read(pulled);
        for (int k = 0; k < 10; k++) Assert.Equal(rows[60 * 10 + k], seen[60].Output![k], 4);

        // Both slices pulled chunks at a measured size, and the report adds up.
        Assert.Equal(2, summary.Units.Length);
        Assert.Equal(61, summary.Units.Sum(u => u.Items));
        Assert.All(summary.Units, u => { Assert.InRange(u.ChunkSize, 1, 8); Assert.True(u.Chunks > 0); Assert.Equal(1, u.Threads); });
        Assert.Contains("chunks of", summary.UnitShares);
        Assert.Equal(summary.Items, progress[^1].ItemsDone);
        Assert.True(progress.Select(p => p.ItemsDone).SequenceEqual(progress.Select(p => p.ItemsDone).Order()));
    }

    [Fact]
    public void Pull_reports_and_skips_bad_items_with_NaN_rows_as_PerBatch_does()
    {
        var images = DatasetStreamTests.MakeImages(Path.Combine(_dir, "clean"), 30);
        var files = Directory.GetFiles(images).Order(StringComparer.Ordinal).ToList();
        var broken = Path.Combine(_dir, "broken.jpg");
        File.WriteAllText(broken, "not a jpeg");
        files.Insert(3, broken);
        files.Insert(9, Path.Combine(_dir, "notes.txt"));
        File.WriteAllText(files[9], "hello");
        // A whole batch of bad items (16-23) too.
        for (int i = 0; i < 8; i++)
        {
            var bad = Path.Combine(_dir, $"bad{i}.jpg");
            File.WriteAllText(bad, "nope");
            files.Insert(16 + i, bad);
        }

        var perBatch = Path.Combine(_dir, "perbatch-bad.npy");
        new DatasetStream(Request(images, StreamSchedule.PerBatch, perBatch) with { Paths = files }).Run(null, null, null, default);
        var output = Path.Combine(_dir, "pull-bad.npy");
        var reported = new List<DatasetBadItem>();
        var items = new List<DatasetItemResult>();
        var summary = new DatasetStream(Request(images, StreamSchedule.Pull, output) with { Paths = files, Top = 1 }).Run(items.Add, reported.Add, null, default);

        Assert.Equal(40, summary.Items);
        Assert.Equal(10, summary.BadItems);
        Assert.Equal(new long[] { 3, 9, 16, 17, 18, 19, 20, 21, 22, 23 }, reported.Select(r => r.Index));
        Assert.Equal(ExecutionErrorIds.ImageDecodeFailed, reported[0].ErrorId);
        Assert.Equal(ExecutionErrorIds.UnsupportedInputType, reported[1].ErrorId);
        Assert.Equal(30, items.Count);
        Assert.Equal(Enumerable.Range(0, 40).Where(i => i is not (3 or 9 or (>= 16 and <= 23))).Select(i => (long)i), items.Select(i => i.Index));
        Assert.Equal(30, summary.Units.Sum(u => u.Items));
        AssertSameRows(perBatch, output);
    }

    [Fact]
    public void A_cancelled_Pull_stream_leaves_a_valid_npy_of_the_items_done_and_resume_equals_an_uninterrupted_run()
    {
        var images = DatasetStreamTests.MakeImages(Path.Combine(_dir, "resume"), 45);
        var whole = Path.Combine(_dir, "whole.npy");
        new DatasetStream(Request(images, StreamSchedule.Pull, whole)).Run(null, null, null, default);

        var partial = Path.Combine(_dir, "partial.npy");
        using var cts = new CancellationTokenSource();
        var stream = new DatasetStream(Request(images, StreamSchedule.Pull, partial));
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => stream.Run(_ => { if (++seen == 20) cts.Cancel(); }, null, null, cts.Token));
        Assert.InRange(stream.ItemsDone, 16, 24); // whole batches only, written in order
        Assert.Equal(0, stream.ItemsDone % 8);
        var (cut, cutShape) = NpyFile.Read(partial);
        Assert.Equal(new[] { (int)stream.ItemsDone, 10 }, cutShape);
        Assert.Equal(File.ReadAllBytes(whole).AsSpan(128, cut.Length * 4).ToArray(), File.ReadAllBytes(partial).AsSpan(128).ToArray());

        var resumed = new DatasetStream(Request(images, StreamSchedule.Pull, partial) with { Resume = true }).Run(null, null, null, default);
        Assert.Equal(stream.ItemsDone, resumed.ResumedFrom);
        Assert.Equal(45 - stream.ItemsDone, resumed.Items);
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(partial));
    }

    [Fact]
    public void Pull_without_table_rows_and_NoAutoProfile_fails_with_MissingProfile_and_otherwise_profiles_them()
    {
        var images = DatasetStreamTests.MakeImages(Path.Combine(_dir, "missing"), 10);
        var table = Path.Combine(_dir, "empty.json");
        var e = Assert.Throws<HeteroBatchException>(() =>
            new DatasetStream(Request(images, StreamSchedule.Pull) with { PerfTablePath = table, NoAutoProfile = true }).Run(null, null, null, default));
        Assert.Equal(ExecutionErrorIds.MissingProfile, e.ErrorId);

        var summary = new DatasetStream(Request(images, StreamSchedule.Pull) with { PerfTablePath = table }).Run(null, null, null, default);
        Assert.Equal(10, summary.Items);
        Assert.True(File.Exists(table));
        Assert.True(summary.SetupSeconds > 0);
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
