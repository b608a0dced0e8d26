using HeteroBatch.Engine.Errors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace HeteroBatch.Engine.Inputs;

/// <summary>
/// The standard ImageNet preprocessing (as torchvision's Resize(256)/CenterCrop(224)/ToTensor/Normalize,
/// scaled to the model's size): the shorter side is resized (bilinear) to round(H*256/224), the centre
/// H×W is cropped, pixels become RGB in [0,1], normalised with the ImageNet mean and std, laid out CHW.
/// </summary>
public static class ImagePreprocessor
{
    /// <summary>ImageNet channel means (R, G, B).</summary>
    public static readonly float[] Mean = { 0.485f, 0.456f, 0.406f };
    /// <summary>ImageNet channel standard deviations (R, G, B).</summary>
    public static readonly float[] Std = { 0.229f, 0.224f, 0.225f };

    /// <summary>Extensions decoded as images (lower case, with the dot).</summary>
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tga", ".tif", ".tiff" };

    /// <summary>Side the shorter image side is resized to before cropping <paramref name="cropSize"/>: round(cropSize*256/224).</summary>
    public static int ResizeTarget(int cropSize) => (int)Math.Round(cropSize * 256.0 / 224.0, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Decodes <paramref name="path"/> and writes its preprocessed 3×<paramref name="height"/>×<paramref name="width"/>
    /// tensor into <paramref name="destination"/>. Throws <c>ImageDecodeFailed</c> naming the file, or <c>InputNotFound</c>.
    /// </summary>
    public static void Preprocess(string path, int height, int width, Span<float> destination)
    {
        if (destination.Length != 3 * height * width)
            throw new ArgumentException($"Destination must hold 3*{height}*{width} values.", nameof(destination));
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new HeteroBatchException(InputErrorIds.InputNotFound, ErrorKind.ObjectNotFound,
                $"The image '{path}' does not exist.", path, e);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or InvalidOperationException
                                      or IOException or UnauthorizedAccessException or ArgumentException or IndexOutOfRangeException)
        {
            throw new HeteroBatchException(InputErrorIds.ImageDecodeFailed, ErrorKind.InvalidData,
                $"Could not decode the image '{path}': {e.Message} Remove or replace the file.", path, e);
        }

        using (image)
        {
            ResizeAndCrop(image, height, width);
            WriteNormalizedChw(image, destination);
        }
    }

    private static void ResizeAndCrop(Image<Rgb24> image, int height, int width)
    {
        int target = ResizeTarget(height);
        double scale = (double)target / Math.Min(image.Width, image.Height);
        // A non-square crop may need more than the shorter side gives: grow until the crop fits.
        scale = Math.Max(scale, Math.Max((double)width / image.Width, (double)height / image.Height));
        int resizedWidth = Math.Max(width, (int)Math.Round(image.Width * scale, MidpointRounding.AwayFromZero));
        int resizedHeight = Math.Max(height, (int)Math.Round(image.Height * scale, MidpointRounding.AwayFromZero));
        int left = (resizedWidth - width) / 2;
        int top = (resizedHeight - height) / 2;
        image.Mutate(ctx =>
        {
            if (resizedWidth != image.Width || resizedHeight != image.Height)
                ctx.Resize(new ResizeOptions
                {
                    Size = new Size(resizedWidth, resizedHeight),
                    Mode = ResizeMode.Stretch,
                    Sampler = KnownResamplers.Triangle,
                });
            if (resizedWidth != width || resizedHeight != height)
                ctx.Crop(new Rectangle(left, top, width, height));
        });
    }

    private static void WriteNormalizedChw(Image<Rgb24> image, Span<float> destination)
    {
        int height = image.Height, width = image.Width, plane = height * width;
        // Precomputed per-channel lookup: byte value -> normalised float, identical to (v/255 - mean)/std.
        var lut = new float[3 * 256];
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++)
                lut[c * 256 + v] = (v / 255f - Mean[c]) / Std[c];

        var buffer = new float[destination.Length];
        image.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < accessor.Height; y++)
            {
                var row = accessor.GetRowSpan(y);
                int rowStart = y * width;
                for (int x = 0; x < row.Length; x++)
                {
                    var p = row[x];
                    buffer[rowStart + x] = lut[p.R];
                    buffer[plane + rowStart + x] = lut[256 + p.G];
                    buffer[2 * plane + rowStart + x] = lut[512 + p.B];
                }
            }
        });
        buffer.CopyTo(destination);
    }
}
