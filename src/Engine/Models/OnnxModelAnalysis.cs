using HeteroBatch.Engine.Errors;
using Onnx;

namespace HeteroBatch.Engine.Models;

/// <summary>What HeteroBatch needs to know about an ONNX graph, read from its declarations.</summary>
/// <param name="InputName">The single graph input that is not an initializer.</param>
/// <param name="InputItemShape">Input shape without the leading batch dimension.</param>
/// <param name="FixedBatch">Declared leading input dimension when it is a number; null when it is symbolic.</param>
/// <param name="OutputName">The first graph output (the one HeteroBatch gathers).</param>
/// <param name="OutputItemShape">Declared shape of one output item; null when the file leaves a dimension open.</param>
/// <param name="ParameterCount">See <see cref="OnnxModelAnalysis.CountParameters"/>.</param>
internal sealed record OnnxFacts(
    string InputName,
    int[] InputItemShape,
    long? FixedBatch,
    string OutputName,
    int[]? OutputItemShape,
    long ParameterCount);

/// <summary>Validates a parsed ONNX model and extracts <see cref="OnnxFacts"/>.</summary>
internal static class OnnxModelAnalysis
{
    private static readonly HashSet<int> FloatingTypes =
    [
        (int)TensorProto.Types.DataType.Float, (int)TensorProto.Types.DataType.Float16,
        (int)TensorProto.Types.DataType.Double, (int)TensorProto.Types.DataType.Bfloat16,
    ];

    public static OnnxFacts Analyze(ModelProto model, string path)
    {
        var graph = model.Graph;
        if (model.IrVersion <= 0 || graph is null || graph.Node.Count == 0)
            throw Invalid(path, "it parses as protocol buffers but has no ONNX graph (no IR version, graph or nodes).");

        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializerNames.Contains(i.Name)).ToList();
        if (inputs.Count == 0) throw Invalid(path, "its graph declares no input.");
        if (inputs.Count > 1)
            throw Unsupported(path, $"it has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); HeteroBatch runs single-input networks.");
        if (graph.Output.Count == 0) throw Invalid(path, "its graph declares no output.");

        var input = inputs[0];
        var inputDims = FloatTensorDims(path, input, "input");
        if (inputDims is null || inputDims.Count == 0)
            throw Unsupported(path, $"input '{input.Name}' has no declared shape; HeteroBatch needs [batch, item dims...].");
        var itemShape = new int[inputDims.Count - 1];
        for (int i = 1; i < inputDims.Count; i++)
        {
            var d = inputDims[i];
            if (!d.HasDimValue || d.DimValue <= 0 || d.DimValue > int.MaxValue)
                throw Unsupported(path, $"dimension {i} of input '{input.Name}' is {(d.HasDimParam ? $"symbolic ('{d.DimParam}')" : "open")}; every item must have a fixed shape.");
            itemShape[i - 1] = (int)d.DimValue;
        }
        long? fixedBatch = inputDims[0].HasDimValue && inputDims[0].DimValue > 0 ? inputDims[0].DimValue : null;

        var output = graph.Output[0];
        var outputDims = FloatTensorDims(path, output, "output");
        int[]? outputItemShape = null;
        if (outputDims is { Count: > 0 } && outputDims.Skip(1).All(d => d.HasDimValue && d.DimValue > 0 && d.DimValue <= int.MaxValue))
            outputItemShape = outputDims.Skip(1).Select(d => (int)d.DimValue).ToArray();

        return new OnnxFacts(input.Name, itemShape, fixedBatch, output.Name, outputItemShape, CountParameters(graph));
    }

    /// <summary>Elements of floating-point initializers, BatchNormalization running mean and variance excluded.</summary>
    public static long CountParameters(GraphProto graph)
    {
        var statistics = graph.Node.Where(n => n.OpType == "BatchNormalization" && n.Input.Count >= 5)
            .SelectMany(n => new[] { n.Input[3], n.Input[4] })
            .ToHashSet(StringComparer.Ordinal);
        return graph.Initializer
            .Where(t => FloatingTypes.Contains(t.DataType) && !statistics.Contains(t.Name))
            .Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b));
    }

    private static IList<TensorShapeProto.Types.Dimension>? FloatTensorDims(string path, ValueInfoProto value, string role)
    {
        var tensor = value.Type?.TensorType
            ?? throw Unsupported(path, $"{role} '{value.Name}' is not a tensor.");
        if (tensor.ElemType != (int)TensorProto.Types.DataType.Float)
            throw Unsupported(path, $"{role} '{value.Name}' has element type {(TensorProto.Types.DataType)tensor.ElemType}; HeteroBatch exchanges float32 tensors.");
        return tensor.Shape?.Dim;
    }

    internal static HeteroBatchException Invalid(string path, string why, Exception? inner = null)
        => new(ModelErrorIds.ModelInvalid, ErrorKind.InvalidData,
            $"'{path}' is not a usable ONNX model: {why} Pass an .onnx file exported by a framework, or a zoo name ({string.Join(", ", ModelZoo.Names)}).",
            path, inner);

    internal static HeteroBatchException Unsupported(string path, string why)
        => new(ModelErrorIds.ModelUnsupported, ErrorKind.InvalidData, $"'{path}' is a valid ONNX model HeteroBatch cannot batch: {why}", path);
}
