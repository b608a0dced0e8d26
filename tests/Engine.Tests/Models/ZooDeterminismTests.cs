using System.Security.Cryptography;
using HeteroBatch.Engine.Models;
using Onnx;
using Xunit;

namespace HeteroBatch.Engine.Tests.Models;

/// <summary>
/// The same zoo name gives the same bytes everywhere: perf tables key on the hash, so drift between
/// machines or generator edits must fail here (bump <see cref="ModelZoo.GeneratorVersion"/> and the
/// golden values together when a change is intended).
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class ZooDeterminismTests(ZooCacheFixture zoo)
{
    private const string TinyNetSha256 = "2f0643b1f1a495d338ce98b907f56517ae6ba9c4f45c96e8e4bfc9fa4106be6b";
    private const string MobileNetSha256 = "0aafdf4c0897adb6cd0ca9ffc8905e98d8f2e7b5a203741c5fa250e6c8c8ba86";

    [Theory]
    [InlineData("tinynet", TinyNetSha256)]
    [InlineData("mobilenet", MobileNetSha256)]
    public void Golden_hash_is_reproduced(string name, string expected)
    {
        var model = zoo.Get(name);
        Assert.Equal(expected, model.Hash);
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(model.Path))));
    }

    [Theory]
    [InlineData("tinynet")]
    [InlineData("mobilenet")]
    [InlineData("squeezenet_v1.1")]
    public void Two_cache_folders_get_byte_identical_files(string name)
    {
        var other = ModelTestSupport.NewTempFolder("determinism");
        try
        {
            var first = zoo.Get(name);
            var second = ModelResolver.Resolve(name, other);
            Assert.NotEqual(first.Path, second.Path);
            Assert.Equal(first.Hash, second.Hash);
            Assert.True(File.ReadAllBytes(first.Path).AsSpan().SequenceEqual(File.ReadAllBytes(second.Path)), $"{name}: files differ.");
        }
        finally
        {
            ModelTestSupport.DeleteFolder(other);
        }
    }

    [Theory]
    [InlineData("tinynet")]
    [InlineData("densenet-121")]
    public void Streamed_file_equals_the_canonical_protobuf_serialisation(string name)
    {
        // The writer frames the graph and raw weights by hand to stream them; re-serialising the parsed
        // message with Google.Protobuf must give the very same bytes.
        var bytes = File.ReadAllBytes(zoo.Get(name).Path);
        var parsed = ModelProto.Parser.ParseFrom(bytes);
        Assert.True(bytes.AsSpan().SequenceEqual(Google.Protobuf.MessageExtensions.ToByteArray(parsed)));
        Assert.Equal("N", parsed.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal("N", parsed.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.All(parsed.Graph.Initializer, t => Assert.Equal(t.Dims.Aggregate(1L, (a, b) => a * b) * 4, t.RawData.Length));
    }

    [Fact]
    public void Cached_file_is_reused_and_a_truncated_one_regenerated()
    {
        var folder = ModelTestSupport.NewTempFolder("reuse");
        try
        {
            var first = ModelResolver.Resolve("tinynet", folder);
            var written = File.GetLastWriteTimeUtc(first.Path);
            Assert.True(File.Exists(first.Path + ".sha256.json"), "hash sidecar missing");

            var again = ModelResolver.Resolve("TINYNET", folder);
            Assert.Equal(first.Hash, again.Hash);
            Assert.Equal(written, File.GetLastWriteTimeUtc(again.Path));

            // A file cut short (a crash without the atomic rename, a full disk) is detected by its length.
            var bytes = File.ReadAllBytes(first.Path);
            File.WriteAllBytes(first.Path, bytes[..(bytes.Length / 2)]);
            var repaired = ModelResolver.Resolve("tinynet", folder);
            Assert.Equal(first.Hash, repaired.Hash);
            Assert.Equal(bytes.Length, new FileInfo(repaired.Path).Length);
            Assert.Equal(first.Hash, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(repaired.Path))));
            Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
        }
        finally
        {
            ModelTestSupport.DeleteFolder(folder);
        }
    }

    [Fact]
    public void Stale_hash_sidecar_is_not_trusted()
    {
        var folder = ModelTestSupport.NewTempFolder("sidecar");
        try
        {
            var model = ModelResolver.Resolve("tinynet", folder);
            var sidecar = model.Path + ".sha256.json";
            File.WriteAllText(sidecar, File.ReadAllText(sidecar).Replace(model.Hash, new string('0', 64)));
            // Same length, new modification time: the remembered hash no longer applies.
            File.SetLastWriteTimeUtc(model.Path, DateTime.UtcNow.AddMinutes(1));
            Assert.Equal(model.Hash, ModelResolver.Resolve("tinynet", folder).Hash);
        }
        finally
        {
            ModelTestSupport.DeleteFolder(folder);
        }
    }

    [Fact]
    public void Concurrent_resolves_of_one_network_agree_and_leave_no_temporary_files()
    {
        var folder = ModelTestSupport.NewTempFolder("concurrent");
        try
        {
            var results = new ModelInfo[4];
            Parallel.For(0, results.Length, i => results[i] = ModelResolver.Resolve("squeezenet_v1.1", folder));
            Assert.Single(results.Select(r => r.Hash).Distinct());
            Assert.Equal(zoo.Get("squeezenet_v1.1").Hash, results[0].Hash);
            Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            ModelTestSupport.DeleteFolder(folder);
        }
    }

    [Fact]
    public async Task Readers_never_see_a_partly_written_file()
    {
        var folder = ModelTestSupport.NewTempFolder("atomic");
        try
        {
            var entry = ModelZoo.GetEntry("resnet-18", folder);
            int sightings = 0;
            using var done = new CancellationTokenSource();
            var watcher = Task.Run(() =>
            {
                while (true)
                {
                    bool last = done.IsCancellationRequested; // one more look after the writer finished
                    var file = new FileInfo(entry.CachePath);
                    if (file.Exists)
                    {
                        Assert.Equal(entry.FileSizeBytes, file.Length);
                        sightings++;
                    }
                    if (last) break;
                }
            });
            ModelResolver.Resolve("resnet-18", folder);
            done.Cancel();
            await watcher;
            Assert.True(sightings > 0);
        }
        finally
        {
            ModelTestSupport.DeleteFolder(folder);
        }
    }

    [Fact]
    public void Generation_reports_progress_and_stops_cleanly_when_cancelled()
    {
        var folder = ModelTestSupport.NewTempFolder("cancel");
        try
        {
            var reports = new List<ModelProgress>();
            var tiny = ModelResolver.Resolve("tinynet", folder, new InlineProgress(reports.Add), CancellationToken.None);
            Assert.NotEmpty(reports);
            Assert.All(reports, r => Assert.Equal("tinynet", r.Model));
            Assert.Equal(new FileInfo(tiny.Path).Length, reports[^1].Completed);
            Assert.Equal(100, reports[^1].PercentComplete);
            Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Completed <= p.Second.Completed), "progress went backwards");

            using var cancel = new CancellationTokenSource();
            var entry = ModelZoo.GetEntry("resnet-50", folder);
            Assert.Throws<OperationCanceledException>(() => ModelResolver.Resolve("resnet-50", folder,
                new InlineProgress(r => { if (r.Completed > entry.FileSizeBytes / 4) cancel.Cancel(); }), cancel.Token));
            Assert.False(File.Exists(entry.CachePath), "a cancelled generation left a file behind");
            Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
        }
        finally
        {
            ModelTestSupport.DeleteFolder(folder);
        }
    }

    private sealed class InlineProgress(Action<ModelProgress> report) : IProgress<ModelProgress>
    {
        public void Report(ModelProgress value) => report(value);
    }
}
