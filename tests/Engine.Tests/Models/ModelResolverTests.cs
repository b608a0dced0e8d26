using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using Onnx;
using Xunit;

namespace HeteroBatch.Engine.Tests.Models;

/// <summary>Names, aliases, ONNX files, and every way a -Model argument can be wrong.</summary>
[Collection(ModelsCollection.Name)]
public sealed class ModelResolverTests(ZooCacheFixture zoo) : IDisposable
{
    private readonly string _folder = ModelTestSupport.NewTempFolder("resolver");

    public void Dispose() => ModelTestSupport.DeleteFolder(_folder);

    [Theory]
    [InlineData("resnet50", "resnet-50")]
    [InlineData("ResNet-50", "resnet-50")]
    [InlineData("resnet_50", "resnet-50")]
    [InlineData("squeezenet1_1", "squeezenet_v1.1")]
    [InlineData("SqueezeNet_v1.1", "squeezenet_v1.1")]
    [InlineData("squeezenet1_0", "squeezenet_v1.0")]
    [InlineData("inception_v3", "inception_v3")]
    [InlineData("InceptionV3", "inception_v3")]
    [InlineData("mobilenet_v1", "mobilenet")]
    [InlineData("VGG16", "vgg-16")]
    [InlineData("vgg_19", "vgg-19")]
    [InlineData("densenet121", "densenet-121")]
    [InlineData(" TinyNet ", "tinynet")]
    public void Aliases_name_the_canonical_network(string spelling, string canonical)
    {
        Assert.True(ModelZoo.IsZooName(spelling));
        Assert.True(ModelZoo.TryGetCanonicalName(spelling, out var name));
        Assert.Equal(canonical, name);
    }

    [Theory]
    [InlineData("resnet-51")]
    [InlineData("squeezenet")]
    [InlineData("vgg")]
    [InlineData("")]
    public void Non_names_are_not_zoo_names(string text) => Assert.False(ModelZoo.IsZooName(text));

    [Fact]
    public void Alias_resolves_to_the_same_zoo_file()
    {
        var canonical = zoo.Get("tinynet");
        var alias = ModelResolver.Resolve("TinyNet", zoo.CacheDirectory);
        Assert.Equal(canonical.Path, alias.Path);
        Assert.Equal(canonical.Hash, alias.Hash);
        Assert.Equal("tinynet", alias.Name);
    }

    [Fact]
    public void Unknown_name_is_ModelNotFound_listing_the_zoo()
    {
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve("resnet-51", zoo.CacheDirectory));
        Assert.Equal("ModelNotFound", error.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, error.Kind);
        Assert.Equal("resnet-51", error.Target);
        foreach (var name in ModelZoo.Names) Assert.Contains(name, error.Message);
    }

    [Fact]
    public void Missing_file_is_ModelNotFound()
    {
        var path = Path.Combine(_folder, "absent.onnx");
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve(path, zoo.CacheDirectory));
        Assert.Equal("ModelNotFound", error.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, error.Kind);
        Assert.Contains(path, error.Message);
        Assert.Contains("tinynet", error.Message);
    }

    [Fact]
    public void Folder_is_ModelNotFound()
    {
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve(_folder, zoo.CacheDirectory));
        Assert.Equal("ModelNotFound", error.ErrorId);
        Assert.Contains("folder", error.Message);
    }

    [Fact]
    public void Empty_argument_is_ModelNotFound()
    {
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve("  ", zoo.CacheDirectory));
        Assert.Equal("ModelNotFound", error.ErrorId);
    }

    [Fact]
    public void Empty_file_is_ModelInvalid()
    {
        var path = Path.Combine(_folder, "empty.onnx");
        File.WriteAllBytes(path, []);
        AssertInvalid(path, "empty");
    }

    [Fact]
    public void Text_file_is_ModelInvalid()
    {
        var path = Path.Combine(_folder, "notes.onnx");
        File.WriteAllText(path, "This is not a neural network.\nJust some text, saved with the wrong extension.\n");
        AssertInvalid(path, "not");
    }

    [Fact]
    public void Truncated_onnx_file_is_ModelInvalid()
    {
        var bytes = File.ReadAllBytes(zoo.Get("tinynet").Path);
        var path = Path.Combine(_folder, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        AssertInvalid(path, "truncated");
    }

    [Fact]
    public void Random_bytes_are_ModelInvalid()
    {
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        var path = Path.Combine(_folder, "noise.onnx");
        File.WriteAllBytes(path, bytes);
        AssertInvalid(path, "");
    }

    private void AssertInvalid(string path, string messagePart)
    {
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve(path, zoo.CacheDirectory));
        Assert.Equal("ModelInvalid", error.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, error.Kind);
        Assert.Equal(path, error.Target);
        Assert.Contains(messagePart, error.Message);
    }

    [Fact]
    public void Onnx_file_resolves_with_its_facts_and_the_hash_of_its_bytes()
    {
        var zooModel = zoo.Get("tinynet");
        var path = Path.Combine(_folder, "my-tiny.onnx");
        File.Copy(zooModel.Path, path);

        var model = ModelResolver.Resolve(path, zoo.CacheDirectory);
        Assert.Equal("file", model.Source);
        Assert.Equal("my-tiny", model.Name);
        Assert.Equal(path, model.Path);
        Assert.Equal(path, model.SourcePath);
        Assert.Equal(zooModel.Hash, model.Hash);
        Assert.Equal("input", model.InputName);
        Assert.Equal([3, 32, 32], model.InputItemShape);
        Assert.Equal("logits", model.OutputName);
        Assert.Equal([10], model.OutputItemShape);
        Assert.Null(model.MaxBatchSize);
        Assert.Null(model.BatchNote);
        Assert.Equal(zooModel.ParameterCount, model.ParameterCount);

        // A relative path means the same file.
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        Assert.Equal(model.Hash, ModelResolver.Resolve(relative, zoo.CacheDirectory).Hash);
    }

    [Fact]
    public void Changed_file_is_analysed_again()
    {
        var path = Path.Combine(_folder, "changing.onnx");
        File.Copy(zoo.Get("tinynet").Path, path);
        var before = ModelResolver.Resolve(path, zoo.CacheDirectory);
        File.Copy(zoo.Get("squeezenet_v1.1").Path, path, overwrite: true);
        var after = ModelResolver.Resolve(path, zoo.CacheDirectory);
        Assert.NotEqual(before.Hash, after.Hash);
        Assert.Equal(zoo.Get("squeezenet_v1.1").Hash, after.Hash);
        Assert.Equal([1000], after.OutputItemShape);
    }

    [Fact]
    public void Remembered_facts_survive_a_new_process()
    {
        var path = Path.Combine(_folder, "remembered.onnx");
        File.Copy(zoo.Get("tinynet").Path, path);
        var first = ModelResolver.Resolve(path, zoo.CacheDirectory);
        ModelResolver.ForgetInMemory();
        ModelCache.ForgetInMemory();
        var factsFolder = Path.Combine(zoo.CacheDirectory, "files");
        Assert.NotEmpty(Directory.GetFiles(factsFolder, "*.json"));
        var second = ModelResolver.Resolve(path, zoo.CacheDirectory);
        Assert.Equal(first, second with { InputItemShape = first.InputItemShape, OutputItemShape = first.OutputItemShape });
        Assert.Equal(first.InputItemShape, second.InputItemShape);
    }

    [Fact]
    public void Cache_folder_that_cannot_be_created_is_ModelCacheUnwritable()
    {
        var blocker = Path.Combine(_folder, "not-a-folder");
        File.WriteAllText(blocker, "a file where the cache folder should be");
        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve("tinynet", Path.Combine(blocker, "models")));
        Assert.Equal("ModelCacheUnwritable", error.ErrorId);
        Assert.Equal(ErrorKind.WriteError, error.Kind);
        Assert.Contains(ModelCache.EnvironmentVariable, error.Message);
    }

    [Fact]
    public void Cache_folder_comes_from_the_argument_then_the_environment()
    {
        Assert.Equal(Path.GetFullPath(_folder), ModelCache.ResolveDirectory(_folder));
        var fallback = ModelCache.ResolveDirectory();
        var fromEnvironment = Environment.GetEnvironmentVariable(ModelCache.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            Assert.Equal(Path.GetFullPath(fromEnvironment), fallback);
        else
            Assert.EndsWith(Path.Combine("HeteroBatch", "models"), fallback);
    }

    [Fact]
    public void Two_input_model_is_ModelUnsupported()
    {
        var graph = new GraphProto { Name = "two-inputs" };
        graph.Input.Add(ModelTestSupport.Tensor("a", "N", 4));
        graph.Input.Add(ModelTestSupport.Tensor("b", "N", 4));
        graph.Output.Add(ModelTestSupport.Tensor("sum", "N", 4));
        graph.Node.Add(ModelTestSupport.Node("Add", ["a", "b"], "sum"));
        var path = ModelTestSupport.Save(graph, _folder, "two-inputs.onnx");

        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve(path, zoo.CacheDirectory));
        Assert.Equal("ModelUnsupported", error.ErrorId);
        Assert.Contains("2 inputs", error.Message);
    }

    [Fact]
    public void Open_item_dimension_is_ModelUnsupported()
    {
        var graph = new GraphProto { Name = "open" };
        graph.Input.Add(ModelTestSupport.Tensor("x", "N", "width"));
        graph.Output.Add(ModelTestSupport.Tensor("y", "N", "width"));
        graph.Node.Add(ModelTestSupport.Node("Relu", ["x"], "y"));
        var path = ModelTestSupport.Save(graph, _folder, "open.onnx");

        var error = Assert.Throws<HeteroBatchException>(() => ModelResolver.Resolve(path, zoo.CacheDirectory));
        Assert.Equal("ModelUnsupported", error.ErrorId);
        Assert.Contains("width", error.Message);
    }

    [Fact]
    public void Undeclared_output_shape_is_learned_from_one_run()
    {
        var graph = new GraphProto { Name = "undeclared" };
        graph.Input.Add(ModelTestSupport.Tensor("x", "N", 6));
        graph.Output.Add(ModelTestSupport.Tensor("y", "N", "unk"));
        graph.Initializer.Add(ModelTestSupport.Int64Tensor("shape", 0, 2, 3));
        graph.Node.Add(ModelTestSupport.Node("Reshape", ["x", "shape"], "y"));
        var path = ModelTestSupport.Save(graph, _folder, "undeclared.onnx");

        var model = ModelResolver.Resolve(path, zoo.CacheDirectory);
        Assert.Equal([2, 3], model.OutputItemShape);
        Assert.Null(model.MaxBatchSize);
    }
}
