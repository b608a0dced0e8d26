using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using Onnx;
using Xunit;
using static HeteroBatch.Engine.Tests.Models.ModelTestSupport;

namespace HeteroBatch.Engine.Tests.Models;

/// <summary>-Precision Half: the fp16 conversion keeps fp32 at the edges and agrees with fp32 within 1e-2.</summary>
public sealed class HalfPrecisionTests : IDisposable
{
    private readonly string _cache = NewTempFolder("fp16");
    public void Dispose() => DeleteFolder(_cache);

    [Theory]
    [InlineData("tinynet")]
    [InlineData("mobilenet")]
    public void Converted_model_runs_with_fp32_edges_and_agrees_with_fp32(string name)
    {
        var single = ModelResolver.Resolve(name, _cache);
        var half = HalfPrecision.ToHalf(single, _cache);

        Assert.Equal(name + "-fp16", half.Name);
        Assert.NotEqual(single.Hash, half.Hash);
        Assert.Equal(single.InputItemShape, half.InputItemShape);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(half.Path));
        Assert.All(proto.Graph.Initializer.Where(t => t.DataType is (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Float16),
            t => Assert.Equal((int)TensorProto.Types.DataType.Float16, t.DataType));
        Assert.Equal((int)TensorProto.Types.DataType.Float, proto.Graph.Input.Single(i => i.Name == single.InputName).Type.TensorType.ElemType);
        Assert.Equal("Cast", proto.Graph.Node.First().OpType);
        Assert.Equal("Cast", proto.Graph.Node.Last().OpType);
        Assert.Equal(single.OutputName, proto.Graph.Node.Last().Output.Single());

        var items = RandomItems(single, 3, seed: 4);
        using var s32 = OpenCpu(single.Path);
        using var s16 = OpenCpu(half.Path);
        var expected = Run(s32, single, items).Values;
        var actual = Run(s16, half, items).Values;
        double scale = expected.Max(v => Math.Abs(v)), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst / scale < 1e-2, $"fp16 differs from fp32 by {worst / scale:E2} of the output scale");
        Assert.True(worst > 0, "the fp16 model should not compute exactly what fp32 does");
    }

    [Fact]
    public void Conversion_is_deterministic_and_cached()
    {
        var single = ModelResolver.Resolve("tinynet", _cache);
        var first = HalfPrecision.ToHalf(single, _cache);
        var stamp = File.GetLastWriteTimeUtc(first.Path);
        var again = HalfPrecision.ToHalf(single, _cache);
        Assert.Equal(first.Hash, again.Hash);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(again.Path));
        Assert.Equal(File.ReadAllBytes(first.Path), HalfPrecision.Convert(File.ReadAllBytes(single.Path), single));
    }

    [Fact]
    public void A_graph_with_float_parameters_that_must_stay_fp32_is_refused()
    {
        var graph = new GraphProto { Name = "resize" };
        graph.Input.Add(Tensor("x", "N", 3, 4, 4));
        graph.Output.Add(Tensor("y", "N", 3, 8, 8));
        graph.Initializer.Add(FloatInitializer("scales", new long[] { 4 }, i => i < 2 ? 1f : 2f));
        graph.Node.Add(Node("Resize", new[] { "x", "", "scales" }, "y"));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var info = new ModelInfo { Name = "resize", Path = "", Hash = new string('0', 64), Source = "file", InputName = "x", InputItemShape = new[] { 3, 4, 4 }, OutputName = "y", OutputItemShape = new[] { 3, 8, 8 } };
        var error = Assert.Throws<HeteroBatchException>(() => HalfPrecision.Convert(Google.Protobuf.MessageExtensions.ToByteArray(model), info));
        Assert.Equal("ModelUnsupported", error.ErrorId);
        Assert.Contains("Resize", error.Message);
    }
}
