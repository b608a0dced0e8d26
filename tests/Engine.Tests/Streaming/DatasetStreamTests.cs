using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Streaming;
using HeteroBatch.Engine.Tests.Execution;
using SkiaSharp;
using Xunit;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Streaming;

/// <summary>DatasetStream end to end on the CPU with the zoo's tinynet and generated JPEGs: order, bounded buffers, bad items, resume.</summary>
public sealed class DatasetStreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-stream-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ProfileOptions QuickProfile = new() { WarmupRuns = 1, Repeats = 1, Refine = false };

    /// <summary>JPEGs of different sizes and colours, named img000.jpg, img001.jpg, ...</summary>
    internal static string MakeImages(string folder, int count, int seed = 1)
    {
        Directory.CreateDirectory(folder);
        for (int i = 0; i < count; i++)
        {
            var rng = new Random(seed * 7919 + i);
            int w = rng.Next(40, 90), h = rng.Next(40, 90);
            using var bitmap = new SKBitmap(w, h);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)));
                using var paint = new SKPaint { Color = new SKColor((uint)rng.Next() | 0xFF000000) };
                canvas.DrawCircle(rng.Next(w), rng.Next(h), rng.Next(5, 30), paint);
            }
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(Path.Combine(folder, $"img{i:D3}.jpg"), data.ToArray());
        }
        return folder;
    }

    private DatasetRequest Request(string input, string? output = null) => new()
    {
        Model = "tinynet",
        ModelCacheDirectory = ExecutionTestModels.CacheDirectory,
        Paths = new[] { input },
        Units = new[] { "cpu:0", "cpu:1" },
        BatchSize = 8,
        BatchesInFlight = 3,
        DecodeWorkers = 2,
        OutputPath = output,
        PerfTablePath = Path.Combine(_dir, "perf.json"),
        ProfileOptions = QuickProfile,
    };

    /// <summary>Item <paramref name="index"/> run alone through one CPU session: what its row must be.</summary>
    private static float[] Alone(DatasetSource source, long index)
    {
        var model = ExecutionTestModels.Small;
        var input = new float[3 * 32 * 32];
        source.Read(index, input, model.InputItemShape);
        var output = new float[model.OutputElementsPerItem];
        BackendRegistry.Default.OpenSession(model, HeteroExecutorTests.CpuUnit(), new BackendOptions { IntraOpThreads = 1 }).Run(input, output, 1);
        return output;
    }

    [Fact]
    public void Items_leave_in_input_order_and_each_row_is_its_own_items_output()
    {
        var images = MakeImages(Path.Combine(_dir, "imgs"), 37);
        var output = Path.Combine(_dir, "out.npy");
        var seen = new List<DatasetItemResult>();
        var summary = new DatasetStream(Request(images, output) with { Top = 3, IncludeOutput = true }).Run(seen.Add, null, null, default);

        Assert.Equal(37, summary.Items);
        Assert.Equal(5, summary.Batches); // 4 of 8 and one of 5
        Assert.Equal(Enumerable.Range(0, 37).Select(i => (long)i), seen.Select(s => s.Index));
        Assert.Equal(Enumerable.Range(0, 37).Select(i => Path.Combine(images, $"img{i:D3}.jpg")), seen.Select(s => s.Path));
        var (data, shape) = NpyFile.Read(output);
        Assert.Equal(new[] { 37, 10 }, shape);
        var source = DatasetSource.Open(new[] { images });
        foreach (int i in new[] { 0, 7, 8, 20, 36 })
        {
            var alone = Alone(source, i);
            for (int k = 0; k < 10; k++)
            {
                Assert.Equal(alone[k], data[i * 10 + k], 4);
                Assert.Equal(alone[k], seen[i].Output![k], 4);
            }
            Assert.Equal(Array.IndexOf(alone, alone.Max()), seen[i].Class);
            Assert.Equal(3, seen[i].TopClasses.Split(' ').Length);
        }
        // Both slices ran items: each batch was split across the units.
        Assert.Equal(2, summary.Units.Length);
        Assert.All(summary.Units, u => Assert.True(u.Items > 0));
        Assert.Equal(37, summary.Units.Sum(u => u.Items));
    }

    [Fact]
    public void A_dataset_larger_than_the_window_never_has_more_than_BatchesInFlight_buffers()
    {
        var images = MakeImages(Path.Combine(_dir, "many"), 60);
        int slowItems = 0;
        // A slow consumer lets the decoders run ahead as far as the window allows.
        var summary = new DatasetStream(Request(images) with { BatchSize = 4, BatchesInFlight = 3 })
            .Run(_ => { if (Interlocked.Increment(ref slowItems) % 4 == 0) Thread.Sleep(15); }, null, null, default);
        Assert.Equal(60, summary.Items);
        Assert.Equal(15, summary.Batches);
        Assert.Equal(3, summary.BatchesInFlight);
        Assert.Equal(3, summary.PeakBuffersInUse); // reached, never passed: 60 items went through 3 buffers of 4

        using var pool = new StreamBufferPool(2, 16);
        var a = pool.Rent(default);
        var b = pool.Rent(default);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.ThrowsAny<OperationCanceledException>(() => pool.Rent(cts.Token)); // a third waits
        pool.Return(a);
        Assert.Same(a, pool.Rent(default));
        Assert.Equal(2, pool.Allocated);
        pool.Return(b);
    }

    [Fact]
    public void Bad_items_are_reported_and_skipped_with_NaN_rows_and_nothing_else_is_lost()
    {
        var images = MakeImages(Path.Combine(_dir, "clean"), 20);
        var clean = Path.Combine(_dir, "clean.npy");
        new DatasetStream(Request(images, clean)).Run(null, null, null, default);

        var files = Directory.GetFiles(images).Order(StringComparer.Ordinal).ToList();
        var broken = Path.Combine(_dir, "broken.jpg");
        File.WriteAllText(broken, "not a jpeg");
        var notes = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notes, "hello");
        files.Insert(5, broken);
        files.Insert(12, notes);
        var output = Path.Combine(_dir, "withbad.npy");
        var reported = new List<DatasetBadItem>();
        var items = new List<DatasetItemResult>();
        var summary = new DatasetStream(Request(images, output) with { Paths = files, Top = 1 }).Run(items.Add, reported.Add, null, default);

        Assert.Equal(22, summary.Items);
        Assert.Equal(2, summary.BadItems);
        Assert.Equal(new long[] { 5, 12 }, reported.Select(r => r.Index));
        Assert.Equal(ExecutionErrorIds.ImageDecodeFailed, reported[0].ErrorId);
        Assert.Equal(ExecutionErrorIds.UnsupportedInputType, reported[1].ErrorId);
        Assert.Equal(broken, summary.Bad[0].Path);
        Assert.Equal(20, items.Count);
        Assert.DoesNotContain(items, i => i.Index is 5 or 12);

        var (withBad, shape) = NpyFile.Read(output);
        var (reference, _) = NpyFile.Read(clean);
        Assert.Equal(new[] { 22, 10 }, shape);
        int good = 0;
        for (int row = 0; row < 22; row++)
        {
            var got = withBad.AsSpan(row * 10, 10);
            if (row is 5 or 12) { Assert.All(got.ToArray(), v => Assert.True(float.IsNaN(v))); continue; }
            for (int k = 0; k < 10; k++) Assert.Equal(reference[good * 10 + k], got[k], 4);
            good++;
        }
    }

    [Fact]
    public void A_cancelled_stream_leaves_a_valid_npy_of_the_items_done_and_resume_equals_an_uninterrupted_run()
    {
        var images = MakeImages(Path.Combine(_dir, "resume"), 45);
        var whole = Path.Combine(_dir, "whole.npy");
        new DatasetStream(Request(images, whole)).Run(null, null, null, default);

        var partial = Path.Combine(_dir, "partial.npy");
        using var cts = new CancellationTokenSource();
        var stream = new DatasetStream(Request(images, partial));
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => stream.Run(_ => { if (++seen == 20) cts.Cancel(); }, null, null, cts.Token));
        Assert.InRange(stream.ItemsDone, 16, 24); // whole batches only
        Assert.Equal(0, stream.ItemsDone % 8);
        var (cut, cutShape) = NpyFile.Read(partial);
        Assert.Equal(new[] { (int)stream.ItemsDone, 10 }, cutShape);
        Assert.Equal(File.ReadAllBytes(whole).AsSpan(128, cut.Length * 4).ToArray(), File.ReadAllBytes(partial).AsSpan(128).ToArray());

        // A crash between a block and its header update leaves bytes past the counted rows: resume cuts them off.
        File.AppendAllText(partial, "half a row");
        var resumed = new DatasetStream(Request(images, partial) with { Resume = true }).Run(null, null, null, default);
        Assert.Equal(stream.ItemsDone, resumed.ResumedFrom);
        Assert.Equal(45 - stream.ItemsDone, resumed.Items);
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(partial));

        // Resuming a complete output runs nothing.
        var again = new DatasetStream(Request(images, partial) with { Resume = true }).Run(null, null, null, default);
        Assert.Equal(0, again.Items);
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(partial));
    }

    [Fact]
    public void Resume_refuses_an_output_of_another_shape_or_a_longer_dataset()
    {
        var images = MakeImages(Path.Combine(_dir, "mismatch"), 10);
        var other = Path.Combine(_dir, "other.npy");
        NpyFile.Write(other, new float[4 * 7], new[] { 4, 7 });
        var e = Assert.Throws<HeteroBatchException>(() => new DatasetStream(Request(images, other) with { Resume = true }).Run(null, null, null, default));
        Assert.Equal(StreamingErrorIds.ResumeMismatch, e.ErrorId);

        var longer = Path.Combine(_dir, "longer.npy");
        NpyFile.Write(longer, new float[11 * 10], new[] { 11, 10 });
        e = Assert.Throws<HeteroBatchException>(() => new DatasetStream(Request(images, longer) with { Resume = true }).Run(null, null, null, default));
        Assert.Equal(StreamingErrorIds.ResumeMismatch, e.ErrorId);
        Assert.Contains("11 rows", e.Message);
    }

    [Fact]
    public void A_large_npy_is_read_in_windows_and_gives_the_outputs_of_a_whole_batch_run()
    {
        var data = new float[50 * 3 * 32 * 32];
        var rng = new Random(3);
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        var input = Path.Combine(_dir, "big.npy");
        NpyFile.Write(input, data, new[] { 50, 3, 32, 32 });
        var output = Path.Combine(_dir, "fromnpy.npy");
        var items = new List<DatasetItemResult>();
        var summary = new DatasetStream(Request(input, output) with { BatchSize = 16, IncludeOutput = true }).Run(items.Add, null, null, default);
        Assert.Equal(50, summary.Items);
        Assert.Equal("npy", summary.Decoder);
        Assert.Equal($"{input}[49]", items[49].Path);

        var whole = InferencePipeline.Run(new InferenceRequest
        {
            Model = "tinynet", ModelCacheDirectory = ExecutionTestModels.CacheDirectory, Units = new[] { "cpu" },
            Input = InputSource.Files(input), PerfTablePath = Path.Combine(_dir, "perf.json"), ProfileOptions = QuickProfile,
        });
        var (streamed, shape) = NpyFile.Read(output);
        Assert.Equal(new[] { 50, 10 }, shape);
        var expected = whole.GetOutput()!.ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], streamed[i], 4);
    }

    [Fact]
    public void The_streamed_npy_is_valid_after_every_append()
    {
        var path = Path.Combine(_dir, "rows.npy");
        using (var writer = NpyStreamWriter.Create(path, new[] { 2, 3 }))
        {
            Assert.Equal(new[] { 0, 2, 3 }, NpyFile.ReadHeader(path).Shape);
            writer.Append(Enumerable.Range(0, 12).Select(i => (float)i).ToArray());
            var (data, shape) = NpyFile.Read(path); // read while the writer is open, as after a kill
            Assert.Equal(new[] { 2, 2, 3 }, shape);
            Assert.Equal(11f, data[11]);
            writer.Append(new float[6]);
            Assert.Equal(new[] { 3, 2, 3 }, NpyFile.ReadHeader(path).Shape);
        }
        using (var resumed = NpyStreamWriter.OpenForResume(path, new[] { 2, 3 }))
        {
            Assert.Equal(3, resumed.Rows);
            resumed.Append(new float[] { 1, 2, 3, 4, 5, 6 });
        }
        var (all, allShape) = NpyFile.Read(path);
        Assert.Equal(new[] { 4, 2, 3 }, allShape);
        Assert.Equal(6f, all[^1]);
        Assert.Throws<ArgumentException>(() => NpyStreamWriter.Create(path, new[] { 2, 3 }).Append(new float[5]));
    }

    [SkippableTheory]
    [InlineData(1000.0, false)] // inference far dearer than decoding: every core keeps running the model
    [InlineData(0.0001, true)]  // decoding far dearer: it takes all cores but one from the CPU unit
    public void The_cores_are_divided_between_decoding_and_inference_by_measured_cost(double execMsPerItem, bool decodeHeavy)
    {
        int cores = Environment.ProcessorCount;
        Skip.If(cores < 2, "one core cannot be divided");
        var images = MakeImages(Path.Combine(_dir, "split"), 12);
        var cpu = HeteroExecutorTests.CpuUnit();
        var model = ExecutionTestModels.Small;
        var key = ThreadBudget.OptionsFor(new[] { cpu }).Single().Value.Key;
        var table = Path.Combine(_dir, "split-perf.json");
        new HeteroBatch.Engine.Table.PerfTableStore(table).Merge(new[] { 1, 4, 8 }.Select(b => new HeteroBatch.Engine.Table.PerfEntry
        {
            Model = model.Name, ModelHash = model.Hash, MachineName = cpu.MachineName, Unit = "cpu", DeviceName = cpu.Name, Backend = cpu.Backend,
            BackendOptions = key, BatchSize = b, ExecMs = execMsPerItem * b, Timestamp = DateTimeOffset.UtcNow,
        }));
        var request = Request(images) with { Units = new[] { "cpu" }, DecodeWorkers = 0, PerfTablePath = table };
        var summary = new DatasetStream(request).Run(null, null, null, default);
        Assert.Equal(12, summary.Items);
        if (decodeHeavy)
        {
            Assert.Equal(cores, summary.DecodeWorkers);
            Assert.Equal(1, summary.CpuInferenceThreads);
        }
        else
        {
            Assert.Equal(1, summary.DecodeWorkers);
            Assert.Equal(cores, summary.CpuInferenceThreads);
        }
        Assert.Contains("core-ms/item", summary.CoreSplit);

        // Workers asked for: their cores come off the CPU unit's budget.
        var asked = new DatasetStream(request with { DecodeWorkers = 1 }).Run(null, null, null, default);
        Assert.Equal(1, asked.DecodeWorkers);
        Assert.Equal(cores - 1, asked.CpuInferenceThreads);
        Assert.Contains("cut by 1", asked.CoreSplit);
    }

    [Fact]
    public void Skia_and_ImageSharp_make_nearly_the_same_input()
    {
        var images = MakeImages(Path.Combine(_dir, "dec"), 3);
        foreach (var file in Directory.GetFiles(images))
        {
            var skia = new float[3 * 224 * 224];
            var sharp = new float[3 * 224 * 224];
            SkiaImageDecoder.Preprocess(file, 224, 224, skia);
            ImagePreprocessor.Preprocess(file, 224, 224, sharp);
            double meanAbs = skia.Zip(sharp, (a, b) => Math.Abs(a - b)).Average();
            Assert.True(meanAbs < 0.05, $"{file}: mean |skia - imagesharp| = {meanAbs}");
        }
        var bad = Path.Combine(_dir, "bad.jpg");
        File.WriteAllBytes(bad, new byte[] { 0xFF, 0xD8, 0xFF, 0x00, 0x01 });
        var e = Assert.Throws<HeteroBatchException>(() => SkiaImageDecoder.Preprocess(bad, 32, 32, new float[3 * 32 * 32]));
        Assert.Equal(ExecutionErrorIds.ImageDecodeFailed, e.ErrorId);
        Assert.Contains(bad, e.Message);
    }
}
