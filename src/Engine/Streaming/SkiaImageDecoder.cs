using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using SkiaSharp;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// The ImageNet preprocessing of <see cref="ImagePreprocessor"/> (shorter side to round(H*256/224), centre crop,
/// RGB in [0,1], ImageNet mean/std, CHW) done with SkiaSharp: libjpeg-turbo decodes, and a JPEG much larger than
/// the target is decoded at a DCT scale (1/2, 1/4, 1/8) that still covers it. Faster than ImageSharp on this
/// machine (bench/results/decode-2026-12-01.md); values differ from ImageSharp's by the resampler only.
/// </summary>
public static class SkiaImageDecoder
{
    /// <summary>Decodes <paramref name="path"/> into <paramref name="destination"/> (3×H×W floats). Throws
    /// <c>ImageDecodeFailed</c> naming the file, or <c>InputNotFound</c>.</summary>
    public static void Preprocess(string path, int height, int width, Span<float> destination)
    {
        if (destination.Length != 3 * height * width)
            throw new ArgumentException($"Destination must hold 3*{height}*{width} values.", nameof(destination));
        SKBitmap? decoded = null;
        try
        {
            try
            {
                decoded = Decode(path, ImagePreprocessor.ResizeTarget(height), height, width);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new HeteroBatchException(ExecutionErrorIds.InputNotFound, ErrorKind.ObjectNotFound, $"The image '{path}' does not exist.", path, e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                throw DecodeFailed(path, e.Message, e);
            }
            if (decoded is null) throw DecodeFailed(path, "it is not an image SkiaSharp can read.", null);
            ResizeCropNormalize(decoded, height, width, destination);
        }
        finally
        {
            decoded?.Dispose();
        }
    }

    private static HeteroBatchException DecodeFailed(string path, string why, Exception? inner) =>
        new(ExecutionErrorIds.ImageDecodeFailed, ErrorKind.InvalidData, $"Could not decode the image '{path}': {why} Remove or replace the file.", path, inner);

    private static SKBitmap? Decode(string path, int target, int height, int width)
    {
        using var stream = File.OpenRead(path);
        using var codec = SKCodec.Create(stream);
        if (codec is null) return null;
        var full = codec.Info;
        if (full.Width <= 0 || full.Height <= 0) return null;
        // The smallest DCT scale whose image still covers the resize target (never upsample after a downscale).
        var size = new SKSizeI(full.Width, full.Height);
        foreach (var scale in new[] { 0.125f, 0.25f, 0.5f })
        {
            var s = codec.GetScaledDimensions(scale);
            if (Math.Min(s.Width, s.Height) >= target && s.Width >= width && s.Height >= height) { size = s; break; }
        }
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            bitmap.Dispose();
            throw new InvalidOperationException($"the decoder reported {result}.");
        }
        return bitmap;
    }

    private static void ResizeCropNormalize(SKBitmap image, int height, int width, Span<float> destination)
    {
        int target = ImagePreprocessor.ResizeTarget(height);
        double scale = (double)target / Math.Min(image.Width, image.Height);
        scale = Math.Max(scale, Math.Max((double)width / image.Width, (double)height / image.Height));
        int rw = Math.Max(width, (int)Math.Round(image.Width * scale, MidpointRounding.AwayFromZero));
        int rh = Math.Max(height, (int)Math.Round(image.Height * scale, MidpointRounding.AwayFromZero));
        int left = (rw - width) / 2, top = (rh - height) / 2;
        SKBitmap resized = image;
        if (rw != image.Width || rh != image.Height)
            resized = image.Resize(new SKImageInfo(rw, rh, SKColorType.Rgba8888, SKAlphaType.Unpremul), SKFilterQuality.Low)
                      ?? throw new InvalidOperationException("SkiaSharp could not resize it.");
        try
        {
            Normalize(resized, left, top, height, width, destination);
        }
        finally
        {
            if (!ReferenceEquals(resized, image)) resized.Dispose();
        }
    }

    private static readonly float[] Lut = BuildLut();

    private static float[] BuildLut()
    {
        var lut = new float[3 * 256];
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++)
                lut[c * 256 + v] = (v / 255f - ImagePreprocessor.Mean[c]) / ImagePreprocessor.Std[c];
        return lut;
    }

    private static unsafe void Normalize(SKBitmap bitmap, int left, int top, int height, int width, Span<float> destination)
    {
        byte* pixels = (byte*)bitmap.GetPixels();
        int rowBytes = bitmap.RowBytes, plane = height * width;
        var lut = Lut;
        for (int y = 0; y < height; y++)
        {
            byte* row = pixels + (long)(top + y) * rowBytes + left * 4;
            int at = y * width;
            for (int x = 0; x < width; x++)
            {
                byte* p = row + x * 4;
                destination[at + x] = lut[p[0]];
                destination[plane + at + x] = lut[256 + p[1]];
                destination[2 * plane + at + x] = lut[512 + p[2]];
            }
        }
    }
}
