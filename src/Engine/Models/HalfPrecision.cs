using System.Runtime.InteropServices;
using Google.Protobuf;
using HeteroBatch.Engine.Errors;
using Onnx;

namespace HeteroBatch.Engine.Models;

/// <summary>Numeric precision a model runs in (<c>-Precision</c>).</summary>
public enum ModelPrecision
{
    /// <summary>fp32, as the model was written.</summary>
    Single,
    /// <summary>fp16 weights and activations; inputs and outputs stay fp32 (Cast nodes at the edges).</summary>
    Half,
}

/// <summary>
/// Converts an fp32 model to fp16: float initializers and constants become float16, casts to float inside the
/// graph cast to float16, and the graph's float inputs and outputs are kept float by a Cast at each edge, so
/// callers feed and read fp32 as before. The copy is cached beside the zoo, keyed by the fp32 model's hash; its
/// own hash (a different model) keys its rows in the perf table, under the name "&lt;model&gt;-fp16".
/// </summary>
public static class HalfPrecision
{
    /// <summary>Bumped when the conversion changes, so cached copies are rebuilt.</summary>
    public const int ConverterVersion = 1;
    private const int FloatType = (int)TensorProto.Types.DataType.Float;
    private const int Float16Type = (int)TensorProto.Types.DataType.Float16;
    // Operators whose float inputs are parameters that must stay float32 (scales, shapes), not activations.
    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal) { "Resize", "Upsample", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Loop", "If", "Scan" };

    /// <summary>The fp16 version of <paramref name="model"/> (converted once, then cached).</summary>
    public static ModelInfo ToHalf(ModelInfo model, string? cacheDirectory = null, CancellationToken cancellationToken = default)
    {
        var folder = Path.Combine(ModelCache.ResolveDirectory(cacheDirectory), "fp16");
        var path = Path.Combine(folder, $"{model.Hash[..16]}.fp16.v{ConverterVersion}.onnx");
        if (!File.Exists(path))
        {
            var bytes = Convert(File.ReadAllBytes(model.Path), model, cancellationToken);
            ModelCache.EnsureDirectory(folder);
            try
            {
                ModelCache.WriteAtomically(path, s => s.Write(bytes));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new HeteroBatchException(ModelErrorIds.ModelCacheUnwritable, ErrorKind.WriteError,
                    $"Cannot write the fp16 copy of '{model.Name}' to '{path}': {e.Message} Set {ModelCache.EnvironmentVariable} to a writable folder.", path, e);
            }
        }
        return model with
        {
            Name = model.Name + "-fp16",
            Path = path,
            Hash = ModelCache.GetOrComputeHash(path, path + ".sha256"),
        };
    }

    /// <summary>Converts ONNX bytes; throws <c>ModelUnsupported</c> for graphs the conversion cannot keep correct.</summary>
    internal static byte[] Convert(byte[] onnx, ModelInfo model, CancellationToken cancellationToken = default)
    {
        var proto = ModelProto.Parser.ParseFrom(onnx);
        var graph = proto.Graph;
        var blocked = graph.Node.Select(n => n.OpType).Where(Unsupported.Contains).Distinct().ToArray();
        if (blocked.Length > 0)
            throw new HeteroBatchException(ModelErrorIds.ModelUnsupported, ErrorKind.InvalidData,
                $"Model '{model.Name}' uses {string.Join(", ", blocked)}, whose float parameters must stay fp32; it cannot be converted to fp16. Run it with -Precision Single.", model.Name);

        foreach (var tensor in graph.Initializer)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ToHalf(tensor);
        }
        foreach (var node in graph.Node)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is { } t) ToHalf(t);
                foreach (var t2 in attribute.Tensors) ToHalf(t2);
                if (node.OpType == "Cast" && attribute.Name == "to" && attribute.I == FloatType) attribute.I = Float16Type;
            }
        }

        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var prologue = new List<NodeProto>();
        foreach (var input in graph.Input.Where(i => !initializers.Contains(i.Name) && IsFloat(i)))
        {
            var half = input.Name + "_fp16";
            foreach (var node in graph.Node) Rename(node.Input, input.Name, half);
            prologue.Add(CastNode(input.Name, half, Float16Type));
        }
        var epilogue = new List<NodeProto>();
        foreach (var output in graph.Output.Where(IsFloat))
        {
            var half = output.Name + "_fp16";
            foreach (var node in graph.Node)
            {
                Rename(node.Output, output.Name, half);
                Rename(node.Input, output.Name, half);
            }
            epilogue.Add(CastNode(half, output.Name, FloatType));
        }
        var nodes = prologue.Concat(graph.Node).Concat(epilogue).ToArray();
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        // Intermediate type annotations would now be wrong; ONNX Runtime infers them again.
        graph.ValueInfo.Clear();
        return proto.ToByteArray();
    }

    private static bool IsFloat(ValueInfoProto value) => value.Type?.TensorType?.ElemType == FloatType;

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, string from, string to)
    {
        for (int i = 0; i < names.Count; i++) if (names[i] == from) names[i] = to;
    }

    private static NodeProto CastNode(string input, string output, int to)
    {
        var node = new NodeProto { OpType = "Cast", Name = "hb_cast_" + output };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = to });
        return node;
    }

    private static void ToHalf(TensorProto tensor)
    {
        if (tensor.DataType != FloatType) return;
        ReadOnlySpan<float> values = tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span)
            : tensor.FloatData.ToArray();
        var halves = new Half[values.Length];
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        tensor.DataType = Float16Type;
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
    }
}
