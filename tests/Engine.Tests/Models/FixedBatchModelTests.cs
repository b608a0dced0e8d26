using System.Security.Cryptography;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using Onnx;
using Xunit;
using Xunit.Abstractions;

namespace HeteroBatch.Engine.Tests.Models;

/// <summary>
/// Files exported with a fixed batch of 1: rewritten to a symbolic batch when a batch of two provably
/// gives the items' own answers, otherwise run one item at a time (batch 1) or refused (batch &gt; 1).
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class FixedBatchModelTests(ZooCacheFixture zoo, ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = ModelTestSupport.NewTempFolder("fixed");

    public void Dispose() => ModelTestSupport.DeleteFolder(_folder);

    [Fact]
    public void Pretrained_ResNet18_with_batch_1_is_rewritten_and_batches_exactly()
    {
        var original = ModelTestSupport.PretrainedResNet18Path();
        Assert.True(File.Exists(original),
            $"The pretrained ResNet18 is missing at '{original}'. Run 'dotnet restore tools/Tools.proj' (package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1).");

        var model = ModelResolver.Resolve(original, zoo.CacheDirectory);
        output.WriteLine($"{model.Name}: {model.ParameterCount:N0} parameters; {model.BatchNote}");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(original))), model.Hash);
        Assert.Equal("file", model.Source);
        Assert.Equal(original, model.SourcePath);
        Assert.NotEqual(original, model.Path);
        Assert.StartsWith(zoo.CacheDirectory, model.Path);
        Assert.Contains(model.Hash, Path.GetFileName(model.Path));
        Assert.Null(model.MaxBatchSize);
        Assert.Contains("rewritten", model.BatchNote);
        Assert.Equal("Input247", model.InputName);
        Assert.Equal([3, 224, 224], model.InputItemShape);
        Assert.Equal([512, 1, 1], model.OutputItemShape);

        var items = ModelTestSupport.RandomItems(model, 3, seed: 18);
        using (var session = ModelTestSupport.OpenCpu(model.Path))
        {
            var (batch, shape) = ModelTestSupport.Run(session, model, items);
            Assert.Equal([3L, 512, 1, 1], shape);
            Assert.All(batch, v => Assert.True(float.IsFinite(v)));
            Assert.True(batch.Max() > 0);
            for (int item = 0; item < 3; item++)
            {
                var (alone, _) = ModelTestSupport.Run(session, model, items.AsSpan(item * model.InputElementsPerItem, model.InputElementsPerItem).ToArray());
                ModelTestSupport.AssertClose(alone, batch.AsSpan(item * 512, 512), 1e-5, 1e-5, $"item {item}");
            }

            // The rewrite changes shapes only: the untouched original gives the same answer for one item.
            using var originalSession = ModelTestSupport.OpenCpu(original);
            var (reference, _) = ModelTestSupport.Run(originalSession, model, items.AsSpan(0, model.InputElementsPerItem).ToArray());
            ModelTestSupport.AssertClose(reference, batch.AsSpan(0, 512), 1e-5, 1e-5, "original vs rewritten");
        }

        // A new process reuses the cached copy and verdict instead of rewriting again.
        var written = File.GetLastWriteTimeUtc(model.Path);
        ModelResolver.ForgetInMemory();
        var again = ModelResolver.Resolve(original, zoo.CacheDirectory);
        Assert.Equal(model.Path, again.Path);
        Assert.Equal(model.Hash, again.Hash);
        Assert.Equal(written, File.GetLastWriteTimeUtc(again.Path));
    }

    [Fact]
    public void Constant_reshape_with_the_batch_baked_in_is_rewritten()
    {
        // x[1,3,4,4] → 1×1 Conv → Reshape to the constant [1, 32] → Gemm → y[1,5]
        var graph = new GraphProto { Name = "reshape-batch" };
        graph.Input.Add(ModelTestSupport.Tensor("x", 1, 3, 4, 4));
        graph.Output.Add(ModelTestSupport.Tensor("y", 1, 5));
        graph.Initializer.Add(ModelTestSupport.FloatInitializer("w", [2, 3, 1, 1], i => 0.1f * (i + 1)));
        graph.Initializer.Add(ModelTestSupport.FloatInitializer("fc", [5, 32], i => (i % 7 - 3) * 0.05f));
        graph.Node.Add(ModelTestSupport.Node("Conv", ["x", "w"], "features"));
        graph.Node.Add(ModelTestSupport.Node("Constant", [], "target",
            ModelTestSupport.TensorAttribute("value", ModelTestSupport.Int64Tensor("target", 1, 32))));
        graph.Node.Add(ModelTestSupport.Node("Reshape", ["features", "target"], "flat"));
        graph.Node.Add(ModelTestSupport.Node("Gemm", ["flat", "fc"], "y", ModelTestSupport.Int("transB", 1)));
        var path = ModelTestSupport.Save(graph, _folder, "reshape-batch.onnx");

        var model = ModelResolver.Resolve(path, zoo.CacheDirectory);
        output.WriteLine(model.BatchNote);
        Assert.Null(model.MaxBatchSize);
        Assert.NotEqual(path, model.Path);
        Assert.Contains("Reshape", model.BatchNote);
        Assert.Equal([5], model.OutputItemShape);

        using var session = ModelTestSupport.OpenCpu(model.Path);
        var items = ModelTestSupport.RandomItems(model, 3, seed: 5);
        var (batch, shape) = ModelTestSupport.Run(session, model, items);
        Assert.Equal([3L, 5], shape);
        for (int item = 0; item < 3; item++)
        {
            var (alone, _) = ModelTestSupport.Run(session, model, items.AsSpan(item * 48, 48).ToArray());
            ModelTestSupport.AssertClose(alone, batch.AsSpan(item * 5, 5), 1e-6, 1e-5, $"item {item}");
        }
        session.Dispose();

        // A rewritten copy that disappeared from the cache is made again, not pointed at.
        File.Delete(model.Path);
        ModelResolver.ForgetInMemory();
        var again = ModelResolver.Resolve(path, zoo.CacheDirectory);
        Assert.Equal(model.Path, again.Path);
        Assert.True(File.Exists(again.Path));
    }

    [Fact]
    public void Graph_that_mixes_the_items_of_a_batch_runs_one_item_at_a_time()
    {
        var path = ModelTestSupport.Save(BatchMeanGraph(fixedBatch: 1), _folder, "batch-mean.onnx");
        var model = ModelResolver.Resolve(path, zoo.CacheDirectory);
        output.WriteLine(model.BatchNote);
        Assert.Equal(1, model.MaxBatchSize);
        Assert.Equal(path, model.Path);
        Assert.Contains("one at a time", model.BatchNote);
        Assert.Contains("mixes items", model.BatchNote);
        Assert.Equal([4], model.OutputItemShape);
        var rebatched = Path.Combine(zoo.CacheDirectory, "rebatched");
        Assert.False(Directory.Exists(rebatched) && Directory.GetFiles(rebatched, $"{model.Hash}*.onnx").Length > 0, "no rewritten copy expected");

        // The verdict is cached: a new process does not need ONNX Runtime to reach it again.
        ModelResolver.ForgetInMemory();
        Assert.Equal(1, ModelResolver.Resolve(path, zoo.CacheDirectory).MaxBatchSize);
    }

    [Fact]
    public void Graph_that_only_runs_at_its_fixed_batch_runs_one_item_at_a_time()
    {
        // x[1,4] → Transpose → [4,1] → MatMul w[1,3] → ReduceSum over axis 0 → y[1,3]: a batch of 2 cannot multiply.
        var graph = new GraphProto { Name = "transposed" };
        graph.Input.Add(ModelTestSupport.Tensor("x", 1, 4));
        graph.Output.Add(ModelTestSupport.Tensor("y", 1, 3));
        graph.Initializer.Add(ModelTestSupport.FloatInitializer("w", [1, 3], i => i + 1));
        graph.Initializer.Add(ModelTestSupport.Int64Tensor("axes", 0));
        graph.Node.Add(ModelTestSupport.Node("Transpose", ["x"], "t", ModelTestSupport.Ints("perm", 1, 0)));
        graph.Node.Add(ModelTestSupport.Node("MatMul", ["t", "w"], "m"));
        graph.Node.Add(ModelTestSupport.Node("ReduceSum", ["m", "axes"], "y", ModelTestSupport.Int("keepdims", 1)));
        var path = ModelTestSupport.Save(graph, _folder, "transposed.onnx");

        var model = ModelResolver.Resolve(path, zoo.CacheDirectory);
        output.WriteLine(model.BatchNote);
        Assert.Equal(1, model.MaxBatchSize);
        Assert.Equal(path, model.Path);
        Assert.Contains("ONNX Runtime", model.BatchNote);
    }

    [Fact]
    public void Fixed_batch_above_1_that_cannot_be_rewritten_is_FixedBatchModel()
    {
        var path = ModelTestSupport.Save(BatchMeanGraph(fixedBatch: 2), _folder, "batch-mean-2.onnx");
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve(path, zoo.CacheDirectory));
        output.WriteLine(error.Message);
        Assert.Equal("FixedBatchModel", error.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, error.Kind);
        Assert.Contains("exactly 2", error.Message);
    }

    [Fact]
    public void Fixed_batch_above_1_that_batches_cleanly_is_rewritten()
    {
        var graph = new GraphProto { Name = "relu-8" };
        graph.Input.Add(ModelTestSupport.Tensor("x", 8, 6));
        graph.Output.Add(ModelTestSupport.Tensor("y", 8, 6));
        graph.Node.Add(ModelTestSupport.Node("Relu", ["x"], "y"));
        var path = ModelTestSupport.Save(graph, _folder, "relu-8.onnx");
        var model = ModelResolver.Resolve(path, zoo.CacheDirectory);
        Assert.Null(model.MaxBatchSize);
        Assert.Contains("Fixed batch 8 rewritten", model.BatchNote);
    }

    /// <summary>y = x + mean over the batch axis: harmless at batch 1, wrong for any larger batch.</summary>
    private static GraphProto BatchMeanGraph(int fixedBatch)
    {
        var graph = new GraphProto { Name = "batch-mean" };
        graph.Input.Add(ModelTestSupport.Tensor("x", fixedBatch, 4));
        graph.Output.Add(ModelTestSupport.Tensor("y", fixedBatch, 4));
        graph.Node.Add(ModelTestSupport.Node("ReduceMean", ["x"], "mean", ModelTestSupport.Ints("axes", 0), ModelTestSupport.Int("keepdims", 1)));
        graph.Node.Add(ModelTestSupport.Node("Add", ["x", "mean"], "y"));
        return graph;
    }
}
