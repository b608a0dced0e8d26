using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using Microsoft.Win32.SafeHandles;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// The items of a dataset, in order, read one at a time into a caller's buffer: image files (folders expanded,
/// sorted by name) decoded as they are needed, or the items of .npy tensors read in windows straight from the
/// file (never the whole file). Holds only the list of paths.
/// </summary>
public sealed class DatasetSource
{
    private readonly IReadOnlyList<string> _images;
    private readonly (string Path, NpyHeader Header, long FirstItem, long Items)[] _npy;

    private DatasetSource(IReadOnlyList<string> images, (string, NpyHeader, long, long)[] npy, long count)
    {
        _images = images;
        _npy = npy;
        Count = count;
    }

    /// <summary>Number of items.</summary>
    public long Count { get; }
    /// <summary>True for images, false for .npy tensors.</summary>
    public bool IsImages => _npy.Length == 0;
    /// <summary>Image files, in order (empty for .npy input).</summary>
    public IReadOnlyList<string> Files => _images;
    /// <summary>Decoder of images (ignored for .npy input).</summary>
    public ImageDecoderKind Decoder { get; init; } = ImageDecoderKind.Skia;

    /// <summary>
    /// The dataset of <paramref name="paths"/>: folders (their images or .npy files, by name, not recursive), image
    /// files and .npy files ([...item] or [n, ...item], float32). With images, files of other kinds (given by name or in
    /// a folder) are items too, so that the stream reports them as bad; with .npy files, a folder's other files are left out.
    /// Throws EmptyInput, InputNotFound, UnsupportedInputType (images mixed with .npy), NpyFormatInvalid.
    /// </summary>
    public static DatasetSource Open(IReadOnlyList<string> paths, ImageDecoderKind decoder = ImageDecoderKind.Skia)
    {
        if (paths is null || paths.Count == 0)
            throw new HeteroBatchException(ExecutionErrorIds.EmptyInput, ErrorKind.InvalidArgument, "No input files or folders were given.");
        // (path, true when it came from a folder listing)
        var listed = new List<(string Path, bool InFolder)>();
        foreach (var p in paths)
        {
            if (string.IsNullOrWhiteSpace(p))
                throw new HeteroBatchException(ExecutionErrorIds.InputNotFound, ErrorKind.ObjectNotFound, "An input path is empty.", p);
            var full = Path.GetFullPath(p);
            if (Directory.Exists(full))
            {
                var inFolder = Directory.EnumerateFiles(full).OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
                if (!inFolder.Any(f => IsImage(f) || IsNpy(f)))
                    throw new HeteroBatchException(ExecutionErrorIds.EmptyInput, ErrorKind.InvalidArgument, $"The folder '{full}' has no image or .npy files.", full);
                listed.AddRange(inFolder.Select(f => (f, true)));
            }
            else if (File.Exists(full)) listed.Add((full, false));
            else throw new HeteroBatchException(ExecutionErrorIds.InputNotFound, ErrorKind.ObjectNotFound, $"The input '{full}' does not exist.", full);
        }
        bool anyNpy = listed.Any(f => IsNpy(f.Path));
        // Images: every other file of a folder stays an item, so the stream reports it as bad (warned, recorded,
        // its row NaN) instead of leaving it out unseen. Tensors: only the .npy files of a folder count.
        var files = listed.Where(f => !anyNpy || !f.InFolder || IsNpy(f.Path)).Select(f => f.Path).ToList();
        if (!anyNpy) return new DatasetSource(files, Array.Empty<(string, NpyHeader, long, long)>(), files.Count) { Decoder = decoder };
        if (files.Any(f => !IsNpy(f)))
            throw new HeteroBatchException(ExecutionErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                "The input mixes .npy tensors with other files; give one kind per dataset.", string.Join(";", paths));
        var npy = new List<(string, NpyHeader, long, long)>();
        long total = 0;
        foreach (var f in files)
        {
            var header = NpyFile.ReadHeader(f);
            NpyFile.RequireFloat32(header, f);
            long items = header.Shape.Length == 0 ? 1 : header.Shape[0];
            npy.Add((f, header, total, items));
            total += items;
        }
        return new DatasetSource(Array.Empty<string>(), npy.ToArray(), total) { Decoder = decoder };
    }

    /// <summary>Checks the dataset against the model's item shape (images need [3,H,W]; .npy items its shape). Throws InvalidInputShape.</summary>
    public void CheckFits(int[] itemShape, string modelName)
    {
        if (IsImages)
        {
            if (itemShape.Length != 3 || itemShape[0] != 3 || itemShape[1] <= 0 || itemShape[2] <= 0)
                throw new HeteroBatchException(ExecutionErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                    $"Images can feed only models with an RGB input of shape [3,H,W]; model '{modelName}' expects [{string.Join(",", itemShape)}]. Give .npy tensors instead.", modelName);
            return;
        }
        foreach (var (path, header, _, _) in _npy)
        {
            var fileItem = header.Shape.Length == itemShape.Length + 1 ? header.Shape[1..] : header.Shape;
            if (!BatchInput.ShapeFits(fileItem, itemShape) || fileItem.Any(d => d <= 0) || header.Shape.Length == itemShape.Length)
                throw new HeteroBatchException(ExecutionErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                    $"'{path}' has shape [{string.Join(",", header.Shape)}]; a dataset .npy must be [N,{string.Join(",", itemShape)}] for model '{modelName}'.", path);
        }
    }

    /// <summary>Where item <paramref name="index"/> comes from: the image path, or the .npy path with [row].</summary>
    public string SourceOf(long index)
    {
        if (IsImages) return _images[(int)index];
        var (path, _, first, _) = FileOf(index);
        return $"{path}[{index - first}]";
    }

    private (string Path, NpyHeader Header, long FirstItem, long Items) FileOf(long index)
    {
        foreach (var f in _npy) if (index < f.FirstItem + f.Items) return f;
        throw new ArgumentOutOfRangeException(nameof(index));
    }

    /// <summary>
    /// Reads item <paramref name="index"/> into <paramref name="destination"/> (its elements of the model's item shape).
    /// An image that cannot be decoded throws <c>ImageDecodeFailed</c> (or <c>InputNotFound</c>, <c>UnsupportedInputType</c>).
    /// </summary>
    public void Read(long index, Span<float> destination, int[] itemShape)
    {
        if (IsImages)
        {
            var path = _images[(int)index];
            if (!IsImage(path))
                throw new HeteroBatchException(ExecutionErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                    $"'{path}' is neither an image ({string.Join(", ", ImagePreprocessor.ImageExtensions.Order())}) nor a .npy tensor.", path);
            if (Decoder == ImageDecoderKind.Skia) SkiaImageDecoder.Preprocess(path, itemShape[1], itemShape[2], destination);
            else ImagePreprocessor.Preprocess(path, itemShape[1], itemShape[2], destination);
            return;
        }
        ReadNpyItems(index, 1, destination);
    }

    /// <summary>Reads <paramref name="count"/> consecutive .npy items from <paramref name="first"/> into <paramref name="destination"/>
    /// in windows straight from the files (positional reads, no whole-file load). Throws NpyFormatInvalid when a file is cut short.</summary>
    public void ReadNpyItems(long first, int count, Span<float> destination)
    {
        if (count == 0) return;
        int perItem = destination.Length / count;
        int done = 0;
        while (done < count)
        {
            var (path, header, start, items) = FileOf(first + done);
            int take = (int)Math.Min(count - done, start + items - (first + done));
            long offset = header.DataOffset + (first + done - start) * perItem * sizeof(float);
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination.Slice(done * perItem, take * perItem));
            using (SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess))
            {
                int read = 0;
                while (read < bytes.Length)
                {
                    int n = RandomAccess.Read(handle, bytes[read..], offset + read);
                    if (n <= 0)
                        throw new HeteroBatchException(ExecutionErrorIds.NpyFormatInvalid, ErrorKind.InvalidData,
                            $"'{path}' is cut short: its header promises {items} items but the data ends early.", path);
                    read += n;
                }
            }
            done += take;
        }
    }

    internal static bool IsNpy(string path) => string.Equals(Path.GetExtension(path), ".npy", StringComparison.OrdinalIgnoreCase);
    internal static bool IsImage(string path) => ImagePreprocessor.ImageExtensions.Contains(Path.GetExtension(path));
}
