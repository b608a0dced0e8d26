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
        try
        {
            DecodeResizeNormalize(File.ReadAllBytes(path), path, height, width, destination);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new HeteroBatchException(ExecutionErrorIds.InputNotFound, ErrorKind.ObjectNotFound, $"The image '{path}' does not exist.", path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(ExecutionErrorIds.InputReadFailed, ErrorKind.ReadError, $"Could not read the image '{path}': {e.Message} Check that it is readable.", path, e);
        }
    }

    private static HeteroBatchException DecodeFailed(string path, string why) =>
        new(ExecutionErrorIds.ImageDecodeFailed, ErrorKind.InvalidData, $"Could not decode the image '{path}': {why} Remove or replace the file.", path);

    // Per-thread pixel buffers, reused image after image: a fresh native bitmap per image (about 1 MB each) is
    // mmap'ed and unmapped by malloc every time, and the page faults of several decode threads then serialise on
    // the process's memory map (measured here: two threads no faster than one).
    [ThreadStatic] private static byte[]? _decoded;
    [ThreadStatic] private static byte[]? _resized;

    private static byte[] Room(ref byte[]? buffer, long bytes)
    {
        if (buffer is null || buffer.Length < bytes) buffer = GC.AllocateUninitializedArray<byte>(checked((int)Math.Max(bytes, 1 << 20)), pinned: true);
        return buffer;
    }

    private static unsafe void DecodeResizeNormalize(byte[] file, string path, int height, int width, Span<float> destination)
    {
        using var data = SKData.CreateCopy(file);
        using var codec = data is null ? null : SKCodec.Create(data);
        if (codec is null) throw DecodeFailed(path, "it is not an image SkiaSharp can read.");
        var full = codec.Info;
        if (full.Width <= 0 || full.Height <= 0) throw DecodeFailed(path, "it has no pixels.");
        int target = ImagePreprocessor.ResizeTarget(height);
        // The smallest DCT scale whose image still covers the resize target (never upsample after a downscale).
        var size = new SKSizeI(full.Width, full.Height);
        foreach (var s in new[] { 0.125f, 0.25f, 0.5f })
        {
            var scaled = codec.GetScaledDimensions(s);
            if (Math.Min(scaled.Width, scaled.Height) >= target && scaled.Width >= width && scaled.Height >= height) { size = scaled; break; }
        }
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var decoded = Room(ref _decoded, info.BytesSize64);
        fixed (byte* pixels = decoded)
        {
            var result = codec.GetPixels(info, (IntPtr)pixels);
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                throw DecodeFailed(path, $"the decoder reported {result}.");

            double scale = (double)target / Math.Min(info.Width, info.Height);
            scale = Math.Max(scale, Math.Max((double)width / info.Width, (double)height / info.Height));
            int rw = Math.Max(width, (int)Math.Round(info.Width * scale, MidpointRounding.AwayFromZero));
            int rh = Math.Max(height, (int)Math.Round(info.Height * scale, MidpointRounding.AwayFromZero));
            int left = (rw - width) / 2, top = (rh - height) / 2;
            if (rw == info.Width && rh == info.Height)
            {
                Normalize(pixels, info.RowBytes, left, top, height, width, destination);
                return;
            }
            var resizedInfo = new SKImageInfo(rw, rh, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var resized = Room(ref _resized, resizedInfo.BytesSize64);
            fixed (byte* target2 = resized)
            {
                using var source = new SKPixmap(info, (IntPtr)pixels, info.RowBytes);
                using var scaledPixmap = new SKPixmap(resizedInfo, (IntPtr)target2, resizedInfo.RowBytes);
                if (!source.ScalePixels(scaledPixmap, SKFilterQuality.Low)) throw DecodeFailed(path, "SkiaSharp could not resize it.");
                Normalize(target2, resizedInfo.RowBytes, left, top, height, width, destination);
            }
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

    private static unsafe void Normalize(byte* pixels, int rowBytes, int left, int top, int height, int width, Span<float> destination)
    {
        int plane = height * width;
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
