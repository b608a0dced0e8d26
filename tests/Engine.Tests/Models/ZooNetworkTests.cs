using HeteroBatch.Engine.Models;
using Onnx;
using Xunit;
using Xunit.Abstractions;

namespace HeteroBatch.Engine.Tests.Models;

/// <summary>Every zoo network generates, loads in ONNX Runtime and computes sane logits at batch 1 and 3.</summary>
[Collection(ModelsCollection.Name)]
public sealed class ZooNetworkTests(ZooCacheFixture zoo, ITestOutputHelper output)
{
    public static TheoryData<string> AllNames => new(ModelZoo.Names);

    [Fact]
    public void Zoo_lists_the_seed_papers_ten_networks_and_tinynet()
    {
        Assert.Equal(
            ["mobilenet", "squeezenet_v1.0", "squeezenet_v1.1", "resnet-18", "resnet-34", "resnet-50",
             "inception_v3", "vgg-16", "vgg-19", "densenet-121", "tinynet"],
            ModelZoo.Names);
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Parameter_count_matches_the_published_figure_within_1_percent(string name)
    {
        var entry = ModelZoo.GetEntry(name, zoo.CacheDirectory);
        output.WriteLine($"{name}: generated {entry.ParameterCount:N0}, published {entry.ReferenceParameterCount:N0}");
        double relative = Math.Abs(entry.ParameterCount - entry.ReferenceParameterCount) / (double)entry.ReferenceParameterCount;
        Assert.True(relative < 0.01, $"{name}: {entry.ParameterCount:N0} parameters vs published {entry.ReferenceParameterCount:N0} ({relative:P2} off).");
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Network_runs_in_OnnxRuntime_at_batch_1_and_3_with_finite_logits(string name)
    {
        var model = zoo.Get(name);
        int classes = name == "tinynet" ? 10 : 1000;
        Assert.Equal("zoo", model.Source);
        Assert.Null(model.MaxBatchSize);
        Assert.Equal([classes], model.OutputItemShape);
        Assert.Equal(name == "inception_v3" ? [3, 299, 299] : name == "tinynet" ? [3, 32, 32] : new[] { 3, 224, 224 }, model.InputItemShape);
        Assert.Equal(new FileInfo(model.Path).Length, ModelZoo.GetEntry(name, zoo.CacheDirectory).FileSizeBytes);

        using var session = ModelTestSupport.OpenCpu(model.Path);
        var input = session.InputMetadata[model.InputName];
        Assert.Equal(-1, input.Dimensions[0]); // symbolic batch
        Assert.Equal("N", input.SymbolicDimensions[0]);

        var items = ModelTestSupport.RandomItems(model, 3, seed: 42);
        var (batch, batchShape) = ModelTestSupport.Run(session, model, items);
        Assert.Equal([3L, classes], batchShape);
        Assert.All(batch, v => Assert.True(float.IsFinite(v), $"{name}: non-finite logit {v}"));

        var (single, singleShape) = ModelTestSupport.Run(session, model, items.AsSpan(0, model.InputElementsPerItem).ToArray());
        Assert.Equal([1L, classes], singleShape);
        double scale = single.Max(v => Math.Abs(v));
        ModelTestSupport.AssertClose(single, batch.AsSpan(0, classes), 1e-4 * scale, 1e-4, $"{name} item 0 alone vs in a batch of 3");

        // Random weights must still make logits depend on the input: items and classes differ.
        var first = batch.AsSpan(0, classes).ToArray();
        var second = batch.AsSpan(classes, classes).ToArray();
        Assert.True(first.Max() > first.Min(), $"{name}: all logits of item 0 are equal ({first[0]}).");
        Assert.False(first.SequenceEqual(second), $"{name}: items 0 and 1 give identical logits.");
        output.WriteLine($"{name}: logits of item 0 in [{first.Min():g4}, {first.Max():g4}], file {new FileInfo(model.Path).Length:N0} bytes, hash {model.ShortHash}");
    }

    [Fact]
    public void Generated_graph_uses_only_standard_opset_17_operators_and_counts_its_own_parameters()
    {
        var model = zoo.Get("resnet-18");
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(model.Path));
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        Assert.Subset(new HashSet<string> { "Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Concat", "Add", "Flatten", "Gemm" },
            proto.Graph.Node.Select(n => n.OpType).ToHashSet());
        Assert.Equal(model.ParameterCount, OnnxModelAnalysis.CountParameters(proto.Graph));
        Assert.Equal(11_689_512, model.ParameterCount);
    }

    [Fact]
    public void Entries_report_cache_state_without_generating()
    {
        var folder = ModelTestSupport.NewTempFolder("entries");
        try
        {
            var before = ModelZoo.GetEntries(folder);
            Assert.Equal(ModelZoo.Names, before.Select(e => e.Name));
            Assert.All(before, e => Assert.False(e.IsCached));
            Assert.All(before, e => Assert.Null(e.Hash));
            Assert.Empty(Directory.GetFiles(folder));

            var tiny = ModelResolver.Resolve("tinynet", folder);
            var after = ModelZoo.GetEntry("TinyNet", folder);
            Assert.True(after.IsCached);
            Assert.Equal(tiny.Path, after.CachePath);
            Assert.Equal(tiny.Hash, after.Hash);
            Assert.Equal(new FileInfo(tiny.Path).Length, after.FileSizeBytes);
            Assert.False(ModelZoo.GetEntry("vgg-16", folder).IsCached);
            Assert.Equal(138_357_544, ModelZoo.GetEntry("vgg16", folder).ParameterCount);
            Assert.Contains($"gen{ModelZoo.GeneratorVersion}", Path.GetFileName(tiny.Path));
        }
        finally
        {
            ModelTestSupport.DeleteFolder(folder);
        }
    }
}
