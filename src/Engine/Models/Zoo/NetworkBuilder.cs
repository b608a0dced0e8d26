using Onnx;

namespace HeteroBatch.Engine.Models.Zoo;

/// <summary>How the generator fills one initializer.</summary>
internal enum WeightFill
{
    /// <summary>Uniform in (-a, a) with a = sqrt(6 / fan-in) · gain (He-uniform for ReLU networks).</summary>
    HeUniform,
    /// <summary>Every element equals <see cref="InitializerSpec.Value"/>.</summary>
    Constant,
}

/// <summary>
/// One weight tensor of a zoo network, described but not materialised: the writer generates its
/// values while streaming, so a 550 MB network never sits in memory.
/// </summary>
internal sealed record InitializerSpec(string Name, long[] Dims, WeightFill Fill, double Value, long FanIn, bool IsParameter)
{
    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A small DSL that emits ONNX nodes and initializer specs in a fixed order, naming tensors after
/// the torchvision modules they mirror (so a graph viewer reads like the PyTorch definition).
/// Tracks channels only; spatial sizes are left to ONNX shape inference.
/// </summary>
internal sealed class NetworkBuilder
{
    private readonly List<NodeProto> _nodes = new();
    private readonly List<InitializerSpec> _initializers = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public IReadOnlyList<NodeProto> Nodes => _nodes;
    public IReadOnlyList<InitializerSpec> Initializers => _initializers;

    /// <summary>Convolution; weight is He-uniform, bias (when present) zero.</summary>
    public string Conv(string input, string name, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0,
        int groups = 1, bool bias = false)
        => Conv(input, name, inChannels, outChannels, (kernel, kernel), (stride, stride), (padding, padding), groups, bias);

    public string Conv(string input, string name, int inChannels, int outChannels, (int H, int W) kernel, (int H, int W) stride,
        (int H, int W) padding, int groups = 1, bool bias = false)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new InvalidOperationException($"{name}: channels not divisible by groups.");
        long fanIn = (long)(inChannels / groups) * kernel.H * kernel.W;
        var weight = AddInitializer($"{name}.weight", [outChannels, inChannels / groups, kernel.H, kernel.W], WeightFill.HeUniform, 1.0, fanIn);
        var inputs = new List<string> { input, weight };
        if (bias) inputs.Add(AddInitializer($"{name}.bias", [outChannels], WeightFill.Constant, 0.0));
        return AddNode("Conv", name, inputs,
            Ints("dilations", 1, 1),
            Int("group", groups),
            Ints("kernel_shape", kernel.H, kernel.W),
            Ints("pads", padding.H, padding.W, padding.H, padding.W),
            Ints("strides", stride.H, stride.W));
    }

    /// <summary>
    /// Inference-mode BatchNormalization with identity statistics (mean 0, variance 1, shift 0);
    /// <paramref name="scale"/> below 1 damps a residual branch so depth does not inflate variance.
    /// </summary>
    public string BatchNorm(string input, string name, int channels, double epsilon = 1e-5, double scale = 1.0)
    {
        var gamma = AddInitializer($"{name}.weight", [channels], WeightFill.Constant, scale);
        var beta = AddInitializer($"{name}.bias", [channels], WeightFill.Constant, 0.0);
        var mean = AddInitializer($"{name}.running_mean", [channels], WeightFill.Constant, 0.0, isParameter: false);
        var variance = AddInitializer($"{name}.running_var", [channels], WeightFill.Constant, 1.0, isParameter: false);
        return AddNode("BatchNormalization", name, [input, gamma, beta, mean, variance],
            Float("epsilon", (float)epsilon),
            Float("momentum", 0.9f));
    }

    public string Relu(string input, string name) => AddNode("Relu", name, [input]);

    public string MaxPool(string input, string name, int kernel, int stride, int padding = 0, bool ceilMode = false)
        => AddNode("MaxPool", name, [input],
            Int("ceil_mode", ceilMode ? 1 : 0),
            Ints("kernel_shape", kernel, kernel),
            Ints("pads", padding, padding, padding, padding),
            Ints("strides", stride, stride));

    /// <summary>Average pooling; <paramref name="countIncludePad"/> mirrors PyTorch's default (true).</summary>
    public string AveragePool(string input, string name, int kernel, int stride, int padding = 0, bool countIncludePad = true)
        => AddNode("AveragePool", name, [input],
            Int("count_include_pad", countIncludePad ? 1 : 0),
            Ints("kernel_shape", kernel, kernel),
            Ints("pads", padding, padding, padding, padding),
            Ints("strides", stride, stride));

    public string GlobalAveragePool(string input, string name) => AddNode("GlobalAveragePool", name, [input]);

    public string Concat(string name, params string[] inputs) => AddNode("Concat", name, inputs, Int("axis", 1));

    public string Add(string a, string b, string name) => AddNode("Add", name, [a, b]);

    public string Flatten(string input, string name) => AddNode("Flatten", name, [input], Int("axis", 1));

    /// <summary>Fully connected layer in torch.nn.Linear layout (weight [out, in], transB = 1), zero bias.</summary>
    public string Linear(string input, string name, int inFeatures, int outFeatures)
    {
        var weight = AddInitializer($"{name}.weight", [outFeatures, inFeatures], WeightFill.HeUniform, 1.0, inFeatures);
        var bias = AddInitializer($"{name}.bias", [outFeatures], WeightFill.Constant, 0.0);
        return AddNode("Gemm", name, [input, weight, bias],
            Float("alpha", 1f),
            Float("beta", 1f),
            Int("transA", 0),
            Int("transB", 1));
    }

    /// <summary>Renames the tensor a node produced (used for the graph output).</summary>
    public string RenameOutput(string tensor, string newName)
    {
        var node = _nodes.Last();
        if (node.Output[0] != tensor) throw new InvalidOperationException("Only the last node's output can be renamed.");
        Claim(newName);
        node.Output[0] = newName;
        return newName;
    }

    private string AddInitializer(string name, long[] dims, WeightFill fill, double value, long fanIn = 0, bool isParameter = true)
    {
        Claim(name);
        _initializers.Add(new InitializerSpec(name, dims, fill, value, fanIn, isParameter));
        return name;
    }

    private string AddNode(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        Claim(name);
        var node = new NodeProto { Name = name, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.Add(name);
        node.Attribute.AddRange(attributes);
        _nodes.Add(node);
        return name;
    }

    private void Claim(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"Duplicate tensor name '{name}' in a zoo definition.");
    }

    private static AttributeProto Int(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
