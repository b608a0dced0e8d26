namespace HeteroBatch.Engine.Streaming;

/// <summary>Which library decodes and resizes the images of a dataset stream.</summary>
public enum ImageDecoderKind
{
    /// <summary>SkiaSharp (libjpeg-turbo, DCT downscaling): the faster one here, the default.</summary>
    Skia,
    /// <summary>SixLabors.ImageSharp, the decoder of Invoke-HeteroInference (bit-identical inputs to it).</summary>
    ImageSharp,
}
