namespace HeteroBatch.Engine.Inputs;

/// <summary>
/// Where a batch comes from, as the user asked for it; <see cref="BatchInputLoader.Load"/> turns it into a
/// <see cref="BatchInput"/> shaped for a model.
/// </summary>
public abstract record InputSource
{
    /// <summary>A seeded random tensor of <paramref name="batchSize"/> items (same seed, same data), for benchmarking.</summary>
    public static InputSource Synthetic(int batchSize, int seed = 0) => new SyntheticInput(batchSize, seed);

    /// <summary>Files and folders: images (jpg, jpeg, png, bmp, gif, webp, tga, tif, tiff) or <c>.npy</c> tensors; a folder
    /// contributes its files of those kinds, sorted by name. Images and .npy files cannot be mixed in one batch.</summary>
    public static InputSource Files(params string[] paths) => new FileInput(paths);

    /// <summary>A tensor from the caller: float[] (item shape from the model, or <paramref name="shape"/> [N, ...]),
    /// or a multi-dimensional float array whose first dimension is N.</summary>
    public static InputSource FromArray(Array data, int[]? shape = null) => new ArrayInput(data, shape);

    /// <summary>A batch already loaded (New-HeteroBatch): run as it is, no copy, its buffer reused call after call.</summary>
    public static InputSource FromBatch(BatchInput batch) => new LoadedInput(batch ?? throw new ArgumentNullException(nameof(batch)));

    /// <summary>Items [<paramref name="firstItem"/>, firstItem + <paramref name="count"/>) of <paramref name="source"/>:
    /// what one machine of a cross-machine run loads. A synthetic range is generated directly (the same values as
    /// in the whole batch), an image range decodes only its files, a .npy range reads only the files it overlaps.</summary>
    public static InputSource Range(InputSource source, int firstItem, int count) => new RangeInput(source, firstItem, count);
}

/// <summary>A seeded synthetic batch; see <see cref="InputSource.Synthetic"/>.</summary>
public sealed record SyntheticInput(int BatchSize, int Seed) : InputSource;

/// <summary>Image or .npy files and folders; see <see cref="InputSource.Files"/>.</summary>
public sealed record FileInput(IReadOnlyList<string> Paths) : InputSource;

/// <summary>A caller's array; see <see cref="InputSource.FromArray"/>.</summary>
public sealed record ArrayInput(Array Data, int[]? Shape) : InputSource;

/// <summary>A contiguous range of another source's items; see <see cref="InputSource.Range"/>.</summary>
public sealed record RangeInput(InputSource Source, int FirstItem, int Count) : InputSource;

/// <summary>A batch loaded before the call; see <see cref="InputSource.FromBatch"/>.</summary>
public sealed record LoadedInput(BatchInput Batch) : InputSource;
