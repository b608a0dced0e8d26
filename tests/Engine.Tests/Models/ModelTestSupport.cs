using System.Collections.Concurrent;
using HeteroBatch.Engine.Models;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Xunit;

namespace HeteroBatch.Engine.Tests.Models;

/// <summary>
/// One temporary cache folder for every Models test class, so each zoo network is generated once
/// per run; deleted at the end. The classes share a collection, so they run one after another
/// (the machine has two cores and VGG-19 is 575 MB).
/// </summary>
public sealed class ZooCacheFixture : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ModelInfo>> _models = new();

    public ZooCacheFixture()
    {
        CacheDirectory = ModelTestSupport.NewTempFolder("zoo");
    }

    public string CacheDirectory { get; }

    public ModelInfo Get(string name)
        => _models.GetOrAdd(name, n => new Lazy<ModelInfo>(() => ModelResolver.Resolve(n, CacheDirectory))).Value;

    public void Dispose() => ModelTestSupport.DeleteFolder(CacheDirectory);
}

[CollectionDefinition(Name)]
public sealed class ModelsCollection : ICollectionFixture<ZooCacheFixture>
{
    public const string Name = "Models";
}

internal static class ModelTestSupport
{
    public static string NewTempFolder(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hb-models-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteFolder(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static InferenceSession OpenCpu(string path)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = Math.Min(2, Environment.ProcessorCount),
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        return new InferenceSession(path, options);
    }

    /// <summary>Runs <paramref name="items"/> (concatenated) as one batch; returns output values and shape.</summary>
    public static (float[] Values, long[] Shape) Run(InferenceSession session, ModelInfo model, float[] items)
    {
        long[] shape = [items.Length / model.InputElementsPerItem, .. model.InputItemShape.Select(d => (long)d)];
        using var input = OrtValue.CreateTensorValueFromMemory(items, shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [model.InputName], [input], [model.OutputName]);
        return (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape);
    }

    /// <summary>Deterministic inputs in [0, 1), like normalised pixels.</summary>
    public static float[] RandomItems(ModelInfo model, int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[model.InputElementsPerItem * count];
        for (int i = 0; i < values.Length; i++) values[i] = random.NextSingle();
        return values;
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double absolute, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double limit = absolute + relative * Math.Abs(expected[i]);
            if (!(Math.Abs(expected[i] - actual[i]) <= limit))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (limit {limit:g3}).");
        }
    }

    /// <summary>Where <c>dotnet restore tools/Tools.proj</c> puts the pretrained fixed-batch ResNet18.</summary>
    public static string PretrainedResNet18Path()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrWhiteSpace(root))
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(root, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
    }

    // --- small hand-built ONNX graphs for the fixed-batch and unsupported cases ---

    public static ValueInfoProto Tensor(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string param
                ? new TensorShapeProto.Types.Dimension { DimParam = param }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static TensorProto FloatInitializer(string name, long[] dims, Func<int, float> value)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        long count = dims.Aggregate(1L, (a, b) => a * b);
        for (int i = 0; i < count; i++) tensor.FloatData.Add(value(i));
        return tensor;
    }

    public static TensorProto Int64Tensor(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return tensor;
    }

    public static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto TensorAttribute(string name, TensorProto value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    public static string Save(GraphProto graph, string folder, string fileName, long opset = 17)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "HeteroBatch.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = opset });
        var path = Path.Combine(folder, fileName);
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        return path;
    }
}
