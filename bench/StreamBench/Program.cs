// Dataset streaming bench (issue 12). Modes:
//   gen <dir> <count> [seed]                      JPEGs of 224-500 px per side (smooth shapes + noise), quality 90
//   decode <dir> <count>                          JPEG decode+resize+normalise to 3x224x224: ImageSharp vs SkiaSharp, items/s on 1 thread and on all cores
//   stream <dir> <model> <batch> <workers|0> [out.npy] [limit]
//                                                 Invoke-HeteroDataset's engine on the CPU; prints the summary and VmHWM
//   compute <model> <batch> <batches> <threads>   the compute-bound limit: synthetic batches through the CPU, no decoding
// Peak memory is this process's /proc/self/status VmHWM, so run one mode per process.
using System.Diagnostics;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Streaming;
using SkiaSharp;
using HeteroBatch.Engine.Table;

var mode = args.Length > 0 ? args[0] : "";
switch (mode)
{
    case "gen": Generate(args[1], int.Parse(args[2]), args.Length > 3 ? int.Parse(args[3]) : 1); break;
    case "decode": DecodeBench(args[1], int.Parse(args[2])); break;
    case "stream": Stream(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), args.Length > 5 && args[5] != "-" ? args[5] : null, args.Length > 6 ? int.Parse(args[6]) : 0); break;
    case "compute": Compute(args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4])); break;
    default: Console.Error.WriteLine("modes: gen | decode | stream | compute (see Program.cs)"); return 2;
}
return 0;

static void Generate(string dir, int count, int seed)
{
    Directory.CreateDirectory(dir);
    Parallel.For(0, count, i =>
    {
        var rng = new Random(seed * 1_000_003 + i);
        int w = rng.Next(224, 501), h = rng.Next(224, 501);
        using var bitmap = new SKBitmap(w, h);
        using (var canvas = new SKCanvas(bitmap))
        {
            using var paint = new SKPaint { IsAntialias = true };
            paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(w, h),
                new[] { new SKColor((uint)rng.Next() | 0xFF000000), new SKColor((uint)rng.Next() | 0xFF000000) }, SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, w, h, paint);
            paint.Shader = null;
            for (int s = 0; s < 12; s++)
            {
                paint.Color = new SKColor((uint)rng.Next() | 0x80000000);
                canvas.DrawCircle(rng.Next(w), rng.Next(h), rng.Next(10, 120), paint);
            }
        }
        // Mild sensor-like noise so the JPEG is not trivially compressible.
        var pixels = bitmap.Pixels;
        for (int p = 0; p < pixels.Length; p++)
        {
            int n = rng.Next(-12, 13);
            var c = pixels[p];
            pixels[p] = new SKColor(Clamp(c.Red + n), Clamp(c.Green + n), Clamp(c.Blue + n));
        }
        bitmap.Pixels = pixels;
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        using var file = File.Create(Path.Combine(dir, $"img{i:D6}.jpg"));
        data.SaveTo(file);
    });
    Console.WriteLine($"generated {count} JPEGs in {dir}");
    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);
}

static void DecodeBench(string dir, int count)
{
    var files = Directory.EnumerateFiles(dir, "*.jpg").Order(StringComparer.Ordinal).Take(count).ToArray();
    Console.WriteLine($"{files.Length} JPEGs, {files.Sum(f => new FileInfo(f).Length) / files.Length / 1024} KiB average, {Environment.ProcessorCount} logical cores");
    Console.WriteLine($"ImageSharp {typeof(SixLabors.ImageSharp.Image).Assembly.GetName().Version}, SkiaSharp {typeof(SKBitmap).Assembly.GetName().Version}");
    foreach (var kind in new[] { ImageDecoderKind.ImageSharp, ImageDecoderKind.Skia, ImageDecoderKind.ImageSharp, ImageDecoderKind.Skia })
    {
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
        {
            var dest = new float[threads][];
            for (int t = 0; t < threads; t++) dest[t] = new float[3 * 224 * 224];
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                for (int i = t; i < files.Length; i += threads)
                    if (kind == ImageDecoderKind.Skia) SkiaImageDecoder.Preprocess(files[i], 224, 224, dest[t]);
                    else ImagePreprocessor.Preprocess(files[i], 224, 224, dest[t]);
            });
            Console.WriteLine($"{kind,-10} threads={threads}: {files.Length / sw.Elapsed.TotalSeconds:F1} images/s");
        }
    }
}

static void Stream(string dir, string model, int batch, int workers, string? output, int limit)
{
    string[] paths = limit > 0 ? Directory.EnumerateFiles(dir, "*.jpg").Order(StringComparer.Ordinal).Take(limit).ToArray() : new[] { dir };
    var request = new DatasetRequest { Model = model, Paths = paths, Units = new[] { "cpu" }, BatchSize = batch, DecodeWorkers = workers, OutputPath = output, Top = 5 };
    long checksum = 0, seen = 0;
    var rss = new List<string>();
    var summary = new DatasetStream(request).Run(item =>
    {
        checksum += item.Class;
        if (++seen % 1000 == 0) rss.Add($"{seen}:{Status("VmRSS")}");
    }, null, null, CancellationToken.None);
    Console.WriteLine($"VmRSS by items done: {string.Join(" ", rss)}");
    Console.WriteLine($"items={summary.Items} bad={summary.BadItems} wall={summary.WallSeconds:F1}s items/s={summary.ItemsPerSecond:F1} " +
                      $"decodeWorkers={summary.DecodeWorkers} cpuThreads={summary.CpuInferenceThreads} decodeSeconds={summary.DecodeSeconds:F1} " +
                      $"decode/worker={summary.DecodeItemsPerSecondPerWorker:F1}/s waitForDecode={summary.WaitForDecodeSeconds:F1}s inference={summary.InferenceSeconds:F1}s " +
                      $"peakBuffers={summary.PeakBuffersInUse}/{summary.BatchesInFlight} units=[{summary.UnitShares}] classSum={checksum}");
    Console.WriteLine($"coreSplit: {summary.CoreSplit}");
    Console.WriteLine($"VmHWM={VmHwm()}");
}

static void Compute(string model, int batch, int batches, int threads)
{
    var input = BatchInputLoader.Keep(BatchInputLoader.Synthetic(HeteroBatch.Engine.Models.ModelResolver.Resolve(model).InputItemShape, batch));
    var request = new InferenceRequest { Model = model, Units = new[] { "cpu" }, Input = InputSource.FromBatch(input), BackendOptions = new BackendOptions { IntraOpThreads = threads } };
    InferencePipeline.Run(request); // profile (when the table lacks it) and warm
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < batches; i++) InferencePipeline.Run(request);
    Console.WriteLine($"compute-bound: {model} batch {batch} threads={threads}: {batch * batches / sw.Elapsed.TotalSeconds:F1} items/s");
}

static string VmHwm() => Status("VmHWM");
static string Status(string key) => File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key + ":")) is { } l ? l[(key.Length + 1)..].Trim() : "n/a";
