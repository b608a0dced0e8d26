using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

public sealed class BatchInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-input-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Model facts only (no file): what the loaders validate against.</summary>
    internal static ModelInfo ShapeOnlyModel(int[] input, int[] output) => new()
    {
        Name = "shape-only", Path = "none.onnx", Hash = "", Source = "file",
        InputName = "input", InputItemShape = input, OutputName = "output", OutputItemShape = output,
    };

    private static readonly ModelInfo Rgb32 = ShapeOnlyModel(new[] { 3, 32, 32 }, new[] { 10 });

    [Fact]
    public void Synthetic_is_seeded_and_in_range()
    {
        var a = BatchInputLoader.Load(InputSource.Synthetic(5, seed: 42), Rgb32);
        var b = BatchInputLoader.Load(InputSource.Synthetic(5, seed: 42), Rgb32);
        var c = BatchInputLoader.Load(InputSource.Synthetic(5, seed: 43), Rgb32);
        Assert.Equal(5, a.Count);
        Assert.Equal(new[] { 5, 3, 32, 32 }, a.Shape);
        Assert.True(a.Data.Span.SequenceEqual(b.Data.Span));
        Assert.False(a.Data.Span.SequenceEqual(c.Data.Span));
        foreach (var v in a.Data.Span) Assert.InRange(v, -1f, 1f);
        // A prefix of a bigger batch with the same seed is the same data: batches of different sizes are comparable.
        var big = BatchInputLoader.Load(InputSource.Synthetic(9, seed: 42), Rgb32);
        Assert.True(big.Slice(0, 5).Span.SequenceEqual(a.Data.Span));
    }

    [Fact]
    public void Slices_are_views_of_one_buffer()
    {
        var input = BatchInputLoader.Load(InputSource.Synthetic(4, 1), Rgb32);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(input.Slice(2, 1), out var seg2));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(input.Data, out var whole));
        Assert.Same(whole.Array, seg2.Array);
        Assert.Equal(2 * 3 * 32 * 32, seg2.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Synthetic_needs_a_positive_batch(int n) =>
        Assert.Equal(ExecutionErrorIds.InvalidBatchSize,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Synthetic(n), Rgb32)).ErrorId);

    [Fact]
    public void Arrays_are_checked_for_type_and_shape()
    {
        var ok = BatchInputLoader.Load(InputSource.FromArray(new float[2 * 3 * 32 * 32]), Rgb32);
        Assert.Equal(2, ok.Count);
        var shaped = BatchInputLoader.Load(InputSource.FromArray(new float[3 * 3 * 32 * 32], new[] { 3, 3, 32, 32 }), Rgb32);
        Assert.Equal(3, shaped.Count);
        var multi = BatchInputLoader.Load(InputSource.FromArray(new float[2, 3, 32, 32]), Rgb32);
        Assert.Equal(2, multi.Count);

        Assert.Equal(ExecutionErrorIds.UnsupportedInputType,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.FromArray(new double[3 * 32 * 32]), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.UnsupportedInputType,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.FromArray(new int[3 * 32 * 32]), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.InvalidInputShape,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.FromArray(new float[3 * 32 * 32 + 1]), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.InvalidInputShape,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.FromArray(new float[2, 3, 16, 16]), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.InvalidInputShape,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.FromArray(new float[2 * 3 * 32 * 32], new[] { 2, 32, 32, 3 }), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.EmptyInput,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.FromArray(Array.Empty<float>()), Rgb32)).ErrorId);
    }

    [Fact]
    public void Npy_files_stack_single_items_and_batches()
    {
        var one = Enumerable.Range(0, 3 * 32 * 32).Select(i => (float)i).ToArray();
        var two = Enumerable.Range(0, 2 * 3 * 32 * 32).Select(i => -(float)i).ToArray();
        NpyFile.Write(Path.Combine(_dir, "a.npy"), one, new[] { 3, 32, 32 });
        NpyFile.Write(Path.Combine(_dir, "b.npy"), two, new[] { 2, 3, 32, 32 });
        var input = BatchInputLoader.Load(InputSource.Files(_dir), Rgb32);
        Assert.Equal(3, input.Count);
        Assert.True(input.Slice(0, 1).Span.SequenceEqual(one));
        Assert.True(input.Slice(1, 2).Span.SequenceEqual(two));
        Assert.Equal(new[] { "a.npy", "b.npy[0]", "b.npy[1]" }, input.Sources);
    }

    [Fact]
    public void Npy_of_the_wrong_shape_or_type_is_rejected()
    {
        var wrong = Path.Combine(_dir, "wrong.npy");
        NpyFile.Write(wrong, new float[2 * 3 * 16 * 16], new[] { 2, 3, 16, 16 });
        var e = Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(wrong), Rgb32));
        Assert.Equal(ExecutionErrorIds.InvalidInputShape, e.ErrorId);
        Assert.Contains("wrong.npy", e.Message);

        var f64 = Path.Combine(_dir, "f64.npy");
        NpyFileTests.WriteRaw(f64, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 32, 32), }", new byte[8 * 3 * 32 * 32]);
        Assert.Equal(ExecutionErrorIds.UnsupportedInputType,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(f64), Rgb32)).ErrorId);
    }

    [Fact]
    public void Paths_that_are_missing_empty_or_unknown_are_rejected()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "not an input");
        Assert.Equal(ExecutionErrorIds.EmptyInput,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(empty), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.InputNotFound,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(Path.Combine(_dir, "nope")), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.UnsupportedInputType,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(Path.Combine(empty, "notes.txt")), Rgb32)).ErrorId);
        Assert.Equal(ExecutionErrorIds.EmptyInput,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(), Rgb32)).ErrorId);
    }

    [Fact]
    public void Images_are_resized_cropped_and_normalised_like_imagenet()
    {
        // A 64x48 image: the shorter side (48) becomes round(32*256/224)=37 (width 49), then the centre 32x32 is kept.
        // A uniform colour stays uniform through resize and crop, so every value is exactly (v/255-mean)/std.
        var path = Path.Combine(_dir, "flat.png");
        using (var image = new Image<Rgb24>(64, 48, new Rgb24(200, 100, 50))) image.SaveAsPng(path);
        var input = BatchInputLoader.Load(InputSource.Files(path), Rgb32);
        Assert.Equal(new[] { 1, 3, 32, 32 }, input.Shape);
        var data = input.Data.Span;
        float[] expected = { (200 / 255f - 0.485f) / 0.229f, (100 / 255f - 0.456f) / 0.224f, (50 / 255f - 0.406f) / 0.225f };
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 32 * 32; i++)
                Assert.Equal(expected[c], data[c * 1024 + i], 4);
        Assert.Equal(37, ImagePreprocessor.ResizeTarget(32));
        Assert.Equal(256, ImagePreprocessor.ResizeTarget(224));
    }

    [Fact]
    public void Centre_crop_keeps_the_centre()
    {
        // Left third red, middle green, right third blue, 96x32: resized to 111x37, the centre 32 columns are green.
        var path = Path.Combine(_dir, "stripes.png");
        using (var image = new Image<Rgb24>(96, 32))
        {
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 96; x++)
                    image[x, y] = x < 32 ? new Rgb24(255, 0, 0) : x < 64 ? new Rgb24(0, 255, 0) : new Rgb24(0, 0, 255);
            image.SaveAsPng(path);
        }
        var data = BatchInputLoader.Load(InputSource.Files(path), Rgb32).Data.Span;
        float green = (1f - 0.456f) / 0.224f, noRed = (0f - 0.485f) / 0.229f;
        Assert.Equal(green, data[1024 + 16 * 32 + 16], 3);
        Assert.Equal(noRed, data[16 * 32 + 16], 3);
    }

    [Fact]
    public void A_corrupt_image_is_named_in_the_error()
    {
        using (var image = new Image<Rgb24>(40, 40)) image.SaveAsPng(Path.Combine(_dir, "a.png"));
        File.WriteAllBytes(Path.Combine(_dir, "b.jpg"), new byte[] { 0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3 });
        var e = Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(_dir), Rgb32));
        Assert.Equal(ExecutionErrorIds.ImageDecodeFailed, e.ErrorId);
        Assert.Contains("b.jpg", e.Message);
        Assert.EndsWith("b.jpg", (string)e.Target!);
    }

    [Fact]
    public void Images_need_an_rgb_model_and_cannot_mix_with_npy()
    {
        using (var image = new Image<Rgb24>(40, 40)) image.SaveAsPng(Path.Combine(_dir, "a.png"));
        var flat = ShapeOnlyModel(new[] { 784 }, new[] { 10 });
        Assert.Equal(ExecutionErrorIds.InvalidInputShape,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(_dir), flat)).ErrorId);
        NpyFile.Write(Path.Combine(_dir, "b.npy"), new float[3 * 32 * 32], new[] { 3, 32, 32 });
        Assert.Equal(ExecutionErrorIds.UnsupportedInputType,
            Assert.Throws<HeteroBatchException>(() => BatchInputLoader.Load(InputSource.Files(_dir), Rgb32)).ErrorId);
    }
}
