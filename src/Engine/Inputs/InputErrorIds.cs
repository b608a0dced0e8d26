namespace HeteroBatch.Engine.Inputs;

/// <summary>Stable ErrorIds of reading a batch and writing outputs (images, .npy tensors, float arrays).</summary>
public static class InputErrorIds
{
    /// <summary>A file is neither an image nor a .npy tensor, or an array is not float32.</summary>
    public const string UnsupportedInputType = "UnsupportedInputType";
    /// <summary>The input holds no items (an empty folder, a zero-length array).</summary>
    public const string EmptyInput = "EmptyInput";
    /// <summary>An image file cannot be decoded.</summary>
    public const string ImageDecodeFailed = "ImageDecodeFailed";
    /// <summary>An input file or folder does not exist.</summary>
    public const string InputNotFound = "InputNotFound";
    /// <summary>An input file exists but cannot be read.</summary>
    public const string InputReadFailed = "InputReadFailed";
    /// <summary>A .npy file is not a little-endian float32 C-order array.</summary>
    public const string NpyFormatInvalid = "NpyFormatInvalid";
    /// <summary>The output .npy file cannot be written.</summary>
    public const string OutputWriteFailed = "OutputWriteFailed";
}
