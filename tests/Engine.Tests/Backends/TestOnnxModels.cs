using System.Security.Cryptography;
using Google.Protobuf;
using HeteroBatch.Engine.Models;
using Onnx;

namespace HeteroBatch.Engine.Tests.Backends;

/// <summary>
/// Real ONNX models built in the test (OnnxSharp), written to a temp folder once per process:
/// a small conv net (3x8x8 → 10) and a deep MatMul chain that takes seconds at a big batch.
/// </summary>
internal static class TestOnnxModels
{
    public static string Folder { get; } = Directory.CreateTempSubdirectory("heterobatch-backend-tests-").FullName;

    private static readonly Lazy<ModelInfo> SmallConv = new(() => Save("test-convnet", BuildConvNet()));
    private static readonly Lazy<ModelInfo> DeepChain = new(() => Save("test-deep-matmul", BuildMatMulChain(width: 256, depth: 400)));

    /// <summary>Conv(3→8, 3x3, pad 1) → Relu → GlobalAveragePool → Flatten → Gemm(8→10); input [N,3,8,8].</summary>
    public static ModelInfo ConvNet => SmallConv.Value;

    /// <summary>The models area's zoo "tinynet" (3x32x32 → 10), generated into this test run's folder.</summary>
    public static ModelInfo TinyNet => Tiny.Value;

    private static readonly Lazy<ModelInfo> Tiny = new(() => ModelResolver.Resolve("tinynet", Path.Combine(Folder, "zoo")));

    /// <summary>A model by short name: "tinynet" or "convnet".</summary>
    public static ModelInfo ByName(string name) => name == "tinynet" ? TinyNet : ConvNet;

    /// <summary>400 MatMul+Tanh layers on [N,256]: at batch 2048 one run is several seconds of CPU work.</summary>
    public static ModelInfo DeepMatMul => DeepChain.Value;

    /// <summary>ConstantOfShape: input "shape" (int64[1]) → output of that many floats; a huge shape cannot be allocated.</summary>
    public static string ConstantOfShapePath => ConstantOfShapeFile.Value;

    private static readonly Lazy<string> ConstantOfShapeFile = new(() =>
    {
        var graph = new GraphProto { Name = "constant-of-shape" };
        var shapeType = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Int64,
                Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 } } },
            },
        };
        graph.Input.Add(new ValueInfoProto { Name = "shape", Type = shapeType });
        graph.Output.Add(new ValueInfoProto
        {
            Name = "output",
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        });
        var node = Node("ConstantOfShape", new[] { "shape" }, "output");
        var value = new TensorProto { Name = "value", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1 } };
        value.FloatData.Add(1f);
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        graph.Node.Add(node);
        var path = Path.Combine(Folder, "constant-of-shape.onnx");
        File.WriteAllBytes(path, Wrap(graph).ToByteArray());
        return path;
    });

    public static float[] RandomInput(int count, int seed)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }

    /// <summary>Writes bytes that are not an ONNX model, with a ModelInfo pointing at them.</summary>
    public static ModelInfo Corrupt()
    {
        var path = Path.Combine(Folder, "corrupt.onnx");
        File.WriteAllBytes(path, "this is not a protobuf model"u8.ToArray());
        return ConvNet with { Name = "corrupt", Path = path, Hash = Hash(File.ReadAllBytes(path)) };
    }

    private static ModelInfo Save(string name, (ModelProto Model, int[] InputItem, int[] OutputItem) built)
    {
        var bytes = built.Model.ToByteArray();
        var path = Path.Combine(Folder, name + ".onnx");
        File.WriteAllBytes(path, bytes);
        return new ModelInfo
        {
            Name = name,
            Path = path,
            Hash = Hash(bytes),
            Source = "file",
            InputName = "input",
            InputItemShape = built.InputItem,
            OutputName = "output",
            OutputItemShape = built.OutputItem,
            MaxBatchSize = null,
        };
    }

    private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    private static (ModelProto, int[], int[]) BuildConvNet()
    {
        var random = new Random(42);
        var graph = new GraphProto { Name = "convnet" };
        graph.Input.Add(Value("input", "N", 3, 8, 8));
        graph.Output.Add(Value("output", "N", 10));
        graph.Initializer.Add(Weights("conv_w", random, 8, 3, 3, 3));
        graph.Initializer.Add(Weights("conv_b", random, 8));
        graph.Initializer.Add(Weights("fc_w", random, 10, 8));
        graph.Initializer.Add(Weights("fc_b", random, 10));
        var conv = Node("Conv", new[] { "input", "conv_w", "conv_b" }, "conv");
        conv.Attribute.Add(Ints("pads", 1, 1, 1, 1));
        conv.Attribute.Add(Ints("kernel_shape", 3, 3));
        graph.Node.Add(conv);
        graph.Node.Add(Node("Relu", new[] { "conv" }, "relu"));
        graph.Node.Add(Node("GlobalAveragePool", new[] { "relu" }, "pool"));
        graph.Node.Add(Node("Flatten", new[] { "pool" }, "flat"));
        var gemm = Node("Gemm", new[] { "flat", "fc_w", "fc_b" }, "output");
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(gemm);
        return (Wrap(graph), new[] { 3, 8, 8 }, new[] { 10 });
    }

    private static (ModelProto, int[], int[]) BuildMatMulChain(int width, int depth)
    {
        var random = new Random(7);
        var graph = new GraphProto { Name = "deep-matmul" };
        graph.Input.Add(Value("input", "N", width));
        graph.Output.Add(Value("output", "N", width));
        // One shared weight keeps the file small; a gain a little above 1 keeps the signal from dying
        // out (or saturating) over hundreds of tanh layers.
        graph.Initializer.Add(Weights("w", random, 1.5f * MathF.Sqrt(3.0f / width), width, width));
        string previous = "input";
        for (int layer = 0; layer < depth; layer++)
        {
            string product = $"mm{layer}";
            string next = layer == depth - 1 ? "output" : $"act{layer}";
            graph.Node.Add(Node("MatMul", new[] { previous, "w" }, product));
            graph.Node.Add(Node("Tanh", new[] { product }, next));
            previous = next;
        }
        return (Wrap(graph), new[] { width }, new[] { width });
    }

    private static ModelProto Wrap(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "HeteroBatch.Engine.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = output + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static TensorProto Weights(string name, Random random, params long[] dims) => Weights(name, random, 0.5f, dims);

    private static TensorProto Weights(string name, Random random, float scale, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        long count = dims.Aggregate(1L, (a, b) => a * b);
        for (long i = 0; i < count; i++) tensor.FloatData.Add((float)(random.NextDouble() * 2 - 1) * scale);
        return tensor;
    }

    private static ValueInfoProto Value(string name, string batchDim, params long[] itemDims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batchDim });
        foreach (var d in itemDims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }
}
