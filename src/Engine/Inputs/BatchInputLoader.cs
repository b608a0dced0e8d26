using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;

namespace HeteroBatch.Engine.Inputs;

/// <summary>
/// Builds <see cref="BatchInput"/>s from every kind of source, validated against the model: a seeded
/// synthetic tensor, images, <c>.npy</c> tensors, or a caller's array.
/// </summary>
public static class BatchInputLoader
{
    /// <summary>Loads <paramref name="source"/> for <paramref name="model"/>; throws the ErrorIds of <see cref="InputErrorIds"/> and <see cref="Errors.BatchErrorIds"/>.</summary>
    public static BatchInput Load(InputSource source, ModelInfo model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(model);
        var input = source switch
        {
            SyntheticInput s => Synthetic(model.InputItemShape, s.BatchSize, s.Seed),
            FileInput f => FromFiles(f.Paths, model, cancellationToken),
            ArrayInput a => FromArray(a.Data, a.Shape, model.InputItemShape),
            RangeInput r => LoadRange(r, model, cancellationToken),
            LoadedInput l => l.Batch,
            _ => throw new ArgumentException($"Unknown input source {source.GetType().Name}.", nameof(source)),
        };
        input.ValidateFor(model);
        return input;
    }

    /// <summary>
    /// Gives the buffer of a batch the run loaded itself back to <see cref="InputBufferPool"/>; call it once the run
    /// no longer reads the batch. Batches from the caller (arrays, <see cref="LoadedInput"/>) are left alone.
    /// </summary>
    public static void Release(BatchInput input)
    {
        if (input is { ReturnsToPool: true }) InputBufferPool.Return(input.Buffer);
    }

    /// <summary>
    /// The batch as one the caller keeps across calls: its own reusable pinned buffer (a GPU page-locks it once),
    /// never returned to the pool. A caller's array is copied into such a buffer once.
    /// </summary>
    public static BatchInput Keep(BatchInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BatchInput kept;
        if (!input.ReturnsToPool && PinnedArrays.IsReusable(input.Buffer)) kept = input;
        else if (input.ReturnsToPool) kept = input.Kept();
        else
        {
            var copy = PinnedArrays.AllocateReusable(input.Data.Length);
            input.Data.CopyTo(copy);
            kept = input.WithBuffer(copy);
        }
        // Locked for DMA now (where a CUDA GPU is used), not in the first run.
        Backends.Cuda.OrtCudaSession.PageLock(kept.Buffer);
        return kept;
    }

    // The last synthetic batches made, reused as they are (same seed, same data): generating 15 M values per call
    // cost more than a GPU's whole run. Bounded in bytes; the arrays are reusable, so a GPU locks them once.
    private const long MaxCachedSyntheticBytes = 1L << 30;
    private static readonly object SyntheticGate = new();
    private static readonly LinkedList<(string Key, BatchInput Batch)> SyntheticCache = new();

    /// <summary>
    /// A batch of <paramref name="batchSize"/> items of <paramref name="itemShape"/> filled with values uniform in
    /// [-1, 1) from a SplitMix64 stream of <paramref name="seed"/>: the same seed gives the same data on every machine and version.
    /// </summary>
    public static BatchInput Synthetic(int[] itemShape, int batchSize, int seed = 0) => Synthetic(itemShape, batchSize, seed, 0, batchSize);

    /// <summary>Items [<paramref name="firstItem"/>, firstItem + <paramref name="count"/>) of <see cref="Synthetic(int[], int, int)"/>'s
    /// batch, generated directly: the stream is a counter, so any item can be computed without the ones before it.</summary>
    public static BatchInput Synthetic(int[] itemShape, int batchSize, int seed, int firstItem, int count)
    {
        if (batchSize <= 0)
            throw new HeteroBatchException(BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"The batch size must be a positive number of items; {batchSize} was given.", batchSize);
        if (itemShape.Any(d => d <= 0))
            throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"A synthetic batch needs a fixed item shape, but the model's input is [{string.Join(",", itemShape)}]. Give real input files instead.", itemShape);
        CheckRange(firstItem, count, batchSize, $"the synthetic batch of {batchSize}");
        long perItem = itemShape.Aggregate(1L, (a, b) => a * b);
        string key = $"{string.Join("x", itemShape)}|{batchSize}|{seed}|{firstItem}|{count}";
        lock (SyntheticGate)
        {
            for (var node = SyntheticCache.First; node is not null; node = node.Next)
                if (node.Value.Key == key)
                {
                    SyntheticCache.Remove(node);
                    SyntheticCache.AddFirst(node);
                    return node.Value.Batch;
                }
        }
        bool cacheable = perItem * count * sizeof(float) <= MaxCachedSyntheticBytes / 2;
        var buffer = cacheable ? PinnedArrays.AllocateReusable(checked((int)(perItem * count))) : BatchInput.AllocateBuffer(perItem * count);
        ulong state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL + (ulong)(firstItem * perItem) * 0x9E3779B97F4A7C15UL);
        for (int i = 0; i < buffer.Length; i++)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            // 24 random bits -> exact float in [0,1), then [-1,1).
            buffer[i] = (z >> 40) * (1.0f / (1 << 24)) * 2f - 1f;
        }
        var description = count == batchSize ? $"synthetic batch of {batchSize} (seed {seed})"
            : $"items {firstItem}-{firstItem + count - 1} of a synthetic batch of {batchSize} (seed {seed})";
        var batch = new BatchInput(buffer, 0, count, (int[])itemShape.Clone(), null, description);
        if (cacheable)
            lock (SyntheticGate)
            {
                SyntheticCache.AddFirst((key, batch));
                while (SyntheticCache.Sum(e => (long)e.Batch.Data.Length * sizeof(float)) > MaxCachedSyntheticBytes) SyntheticCache.RemoveLast();
            }
        return batch;
    }

    /// <summary>A range of another source, loading no more than it needs (see <see cref="InputSource.Range"/>).</summary>
    private static BatchInput LoadRange(RangeInput range, ModelInfo model, CancellationToken cancellationToken)
    {
        if (range.Count <= 0 || range.FirstItem < 0)
            throw new HeteroBatchException(BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"The item range starts at {range.FirstItem} with {range.Count} items; it must start at 0 or later and hold at least one item.", range.FirstItem);
        switch (range.Source)
        {
            case SyntheticInput s:
                return Synthetic(model.InputItemShape, s.BatchSize, s.Seed, range.FirstItem, range.Count);
            case FileInput f:
            {
                var files = ExpandPaths(f.Paths);
                if (!files.Any(IsNpy))
                {
                    CheckRange(range.FirstItem, range.Count, files.Count, $"the {files.Count} input images");
                    return FromImages(files.GetRange(range.FirstItem, range.Count), model, cancellationToken);
                }
                // .npy files may hold several items each: read only the files the range overlaps.
                var counts = NpyItemCounts(files, model.InputItemShape);
                CheckRange(range.FirstItem, range.Count, (int)Math.Min(int.MaxValue, counts.Sum(c => (long)c)), $"the {files.Count} .npy files");
                int at = 0, firstFile = -1, skip = 0, lastFile = -1;
                for (int i = 0; i < files.Count; i++)
                {
                    if (firstFile < 0 && range.FirstItem < at + counts[i]) { firstFile = i; skip = range.FirstItem - at; }
                    if (range.FirstItem + range.Count <= at + counts[i]) { lastFile = i; break; }
                    at += counts[i];
                }
                var loaded = FromNpyFiles(files.GetRange(firstFile, lastFile - firstFile + 1), model.InputItemShape);
                return loaded.View(skip, range.Count);
            }
            default:
            {
                var whole = Load(range.Source, model, cancellationToken);
                CheckRange(range.FirstItem, range.Count, whole.Count, whole.Description);
                return whole.View(range.FirstItem, range.Count);
            }
        }
    }

    /// <summary>Items per .npy file, from the headers only (one item when the file's rank is the item's, else its first dimension).</summary>
    internal static int[] NpyItemCounts(IReadOnlyList<string> files, int[] modelItemShape)
    {
        var counts = new int[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            var header = NpyFile.ReadHeader(files[i]);
            counts[i] = header.Shape.Length == modelItemShape.Length ? 1
                : header.Shape.Length == modelItemShape.Length + 1 ? header.Shape[0]
                : throw ShapeError(files[i], header.Shape, modelItemShape);
        }
        return counts;
    }

    private static void CheckRange(int first, int count, int total, string what)
    {
        if (first < 0 || count <= 0 || (long)first + count > total)
            throw new HeteroBatchException(BatchErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                $"Items {first}-{(long)first + count - 1} are outside {what} (items 0-{total - 1}).", first);
    }

    /// <summary>
    /// Files and folders: every path is a folder (its image or .npy files, sorted by name), an image, or a .npy
    /// file. Images are preprocessed for <paramref name="model"/> (see <see cref="ImagePreprocessor"/>); .npy files
    /// hold one item ([...item shape]) or several ([n, ...item shape]) and are stacked in order.
    /// </summary>
    public static BatchInput FromFiles(IReadOnlyList<string> paths, ModelInfo model, CancellationToken cancellationToken = default)
    {
        var files = ExpandPaths(paths);
        bool anyNpy = files.Any(IsNpy);
        bool anyImage = files.Any(IsImage);
        if (anyNpy && anyImage)
            throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                "The input mixes images and .npy tensors; give one kind per batch.", string.Join(";", paths));
        return anyNpy ? FromNpyFiles(files, model.InputItemShape) : FromImages(files, model, cancellationToken);
    }

    /// <summary>Decodes and preprocesses images for a model with a [3,H,W] input; decodes in parallel, in file order.</summary>
    public static BatchInput FromImages(IReadOnlyList<string> files, ModelInfo model, CancellationToken cancellationToken = default)
    {
        var shape = model.InputItemShape;
        if (shape.Length != 3 || shape[0] != 3 || shape[1] <= 0 || shape[2] <= 0)
            throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"Images can feed only models with an RGB input of shape [3,H,W]; model '{model.Name}' expects [{string.Join(",", shape)}]. " +
                "Give .npy tensors instead.", model.Name);
        if (files.Count == 0)
            throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument, "No input images were given.");
        foreach (var f in files)
            if (!IsImage(f))
                throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                    $"'{f}' is neither an image ({string.Join(", ", ImagePreprocessor.ImageExtensions.Order())}) nor a .npy tensor.", f);

        int height = shape[1], width = shape[2], perItem = 3 * height * width;
        var buffer = BatchInput.RentBuffer((long)perItem * files.Count);
        var errors = new HeteroBatchException?[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            try { ImagePreprocessor.Preprocess(files[i], height, width, buffer.AsSpan(i * perItem, perItem)); }
            catch (HeteroBatchException e) { errors[i] = e; }
        });
        // Report the first bad file in input order, whatever thread met it first.
        var firstError = errors.FirstOrDefault(e => e is not null);
        if (firstError is not null)
        {
            InputBufferPool.Return(buffer);
            throw firstError;
        }
        return new BatchInput(buffer, 0, files.Count, (int[])shape.Clone(), files.Select(Path.GetFileName).ToArray()!,
            files.Count == 1 ? $"image {files[0]}" : $"{files.Count} images") { ReturnsToPool = true };
    }

    /// <summary>Stacks .npy files (each [...item] or [n, ...item], float32) into one batch, read straight into the batch buffer.</summary>
    public static BatchInput FromNpyFiles(IReadOnlyList<string> files, int[] modelItemShape)
    {
        if (files.Count == 0)
            throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument, "No .npy input files were given.");
        var headers = new NpyHeader[files.Count];
        var counts = new int[files.Count];
        int[]? itemShape = null;
        long total = 0;
        for (int i = 0; i < files.Count; i++)
        {
            if (!IsNpy(files[i]))
                throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                    $"'{files[i]}' is not a .npy tensor.", files[i]);
            var header = NpyFile.ReadHeader(files[i]);
            NpyFile.RequireFloat32(header, files[i]);
            int[] fileItemShape;
            // One item per file when the file's rank equals the model's item rank; otherwise [n, ...item].
            if (header.Shape.Length == modelItemShape.Length) { fileItemShape = header.Shape; counts[i] = 1; }
            else if (header.Shape.Length == modelItemShape.Length + 1) { fileItemShape = header.Shape[1..]; counts[i] = header.Shape[0]; }
            else throw ShapeError(files[i], header.Shape, modelItemShape);
            if (!BatchInput.ShapeFits(fileItemShape, modelItemShape)) throw ShapeError(files[i], header.Shape, modelItemShape);
            if (itemShape is null) itemShape = fileItemShape;
            else if (!itemShape.SequenceEqual(fileItemShape))
                throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                    $"'{files[i]}' has items of shape [{string.Join(",", fileItemShape)}] but earlier files have [{string.Join(",", itemShape)}]; all items of a batch must have one shape.", files[i]);
            headers[i] = header;
            total += counts[i];
        }
        if (total == 0)
            throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument,
                "The .npy input holds no items (its first dimension is 0).", string.Join(";", files));
        if (total > int.MaxValue)
            throw new HeteroBatchException(BatchErrorIds.InvalidBatchSize, ErrorKind.LimitsExceeded, $"The input holds {total} items, too many for one batch.", total);

        int perItem = itemShape!.Aggregate(1, (a, b) => checked(a * b));
        var buffer = BatchInput.RentBuffer(perItem * total);
        var sources = new List<string>((int)total);
        long at = 0;
        try
        {
            for (int i = 0; i < files.Count; i++)
            {
                int n = counts[i] * perItem;
                NpyFile.ReadInto(files[i], buffer.AsSpan((int)at, n));
                at += n;
                var name = Path.GetFileName(files[i]);
                if (headers[i].Shape.Length == modelItemShape.Length) sources.Add(name);
                else for (int k = 0; k < counts[i]; k++) sources.Add(name + "[" + k + "]");
            }
        }
        catch
        {
            InputBufferPool.Return(buffer);
            throw;
        }
        return new BatchInput(buffer, 0, (int)total, itemShape!, sources,
            files.Count == 1 ? $"tensor {files[0]}" : $"{files.Count} .npy files") { ReturnsToPool = true };
    }

    /// <summary>
    /// Wraps a caller's tensor without copying a float[]: <paramref name="data"/> is float[] (its items shaped as
    /// <paramref name="shape"/>[1..] when given, else as the model's item shape) or a multi-dimensional float array [N, ...].
    /// Other element types throw <c>UnsupportedInputType</c>; a length that is not a whole number of items, <c>InvalidInputShape</c>.
    /// </summary>
    public static BatchInput FromArray(Array data, int[]? shape, int[] modelItemShape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.GetType().GetElementType() != typeof(float))
            throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                $"The input array holds {data.GetType().GetElementType()?.Name ?? "unknown"} values; give float32 (System.Single) values, e.g. [float[]].", data.GetType().Name);
        if (data.Length == 0)
            throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument, "The input array is empty.");

        if (data.Rank > 1)
        {
            var dims = Enumerable.Range(0, data.Rank).Select(data.GetLength).ToArray();
            if (shape is not null && !shape.SequenceEqual(dims))
                throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                    $"The array's dimensions [{string.Join(",", dims)}] differ from the shape given [{string.Join(",", shape)}].", dims);
            var copy = BatchInput.AllocateBuffer(data.Length);
            Buffer.BlockCopy(data, 0, copy, 0, data.Length * sizeof(float));
            return Shaped(copy, dims, modelItemShape);
        }

        var flat = (float[])data;
        if (shape is not null)
        {
            if (shape.Length == 0 || shape.Aggregate(1L, (a, b) => a * b) != flat.Length || shape.Any(d => d < 0))
                throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                    $"The shape [{string.Join(",", shape)}] does not hold the {flat.Length} values given.", shape);
            return Shaped(flat, shape, modelItemShape);
        }
        if (modelItemShape.Any(d => d <= 0))
            throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"The model's input [{string.Join(",", modelItemShape)}] has free dimensions; give the array's shape too.", modelItemShape);
        int perItem = modelItemShape.Aggregate(1, (a, b) => a * b);
        if (flat.Length % perItem != 0)
            throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"The array holds {flat.Length} values, not a whole number of items of [{string.Join(",", modelItemShape)}] ({perItem} values each).", flat.Length);
        return new BatchInput(flat, 0, flat.Length / perItem, (int[])modelItemShape.Clone(), null, $"array of {flat.Length / perItem} items");
    }

    private static BatchInput Shaped(float[] buffer, int[] shape, int[] modelItemShape)
    {
        // [N, ...item] or a single item [...item].
        int[] itemShape; int count;
        if (shape.Length == modelItemShape.Length + 1) { itemShape = shape[1..]; count = shape[0]; }
        else if (shape.Length == modelItemShape.Length) { itemShape = shape; count = 1; }
        else throw ShapeError("the input array", shape, modelItemShape);
        if (!BatchInput.ShapeFits(itemShape, modelItemShape)) throw ShapeError("the input array", shape, modelItemShape);
        if (count == 0) throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument, "The input array holds no items.");
        return new BatchInput(buffer, 0, count, itemShape, null, $"array of {count} items");
    }

    /// <summary>Expands folders into their image and .npy files (sorted by name, not recursive); checks every path exists.</summary>
    internal static List<string> ExpandPaths(IReadOnlyList<string> paths)
    {
        if (paths is null || paths.Count == 0)
            throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument, "No input files or folders were given.");
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (string.IsNullOrWhiteSpace(path))
                throw new HeteroBatchException(InputErrorIds.InputNotFound, ErrorKind.ObjectNotFound, "An input path is empty.", path);
            if (Directory.Exists(path))
            {
                var inFolder = Directory.EnumerateFiles(path)
                    .Where(f => IsImage(f) || IsNpy(f))
                    .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
                    .ToList();
                if (inFolder.Count == 0)
                    throw new HeteroBatchException(InputErrorIds.EmptyInput, ErrorKind.InvalidArgument,
                        $"The folder '{path}' has no image or .npy files.", path);
                files.AddRange(inFolder);
            }
            else if (File.Exists(path))
            {
                if (!IsImage(path) && !IsNpy(path))
                    throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                        $"'{path}' is neither an image ({string.Join(", ", ImagePreprocessor.ImageExtensions.Order())}) nor a .npy tensor.", path);
                files.Add(path);
            }
            else throw new HeteroBatchException(InputErrorIds.InputNotFound, ErrorKind.ObjectNotFound,
                $"The input '{path}' does not exist.", path);
        }
        return files;
    }

    /// <summary>
    /// The files of the folders among <paramref name="paths"/> that a batch leaves out, being neither images nor .npy
    /// tensors (sorted by name, with their folder): the caller warns about them. Paths that are not folders are ignored.
    /// </summary>
    public static IReadOnlyList<string> SkippedInFolders(IReadOnlyList<string> paths)
    {
        var skipped = new List<string>();
        foreach (var path in paths ?? Array.Empty<string>())
        {
            if (string.IsNullOrWhiteSpace(path) || !Directory.Exists(path)) continue;
            try
            {
                skipped.AddRange(Directory.EnumerateFiles(path).Where(f => !IsImage(f) && !IsNpy(f))
                    .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // loading reports an unreadable folder
        }
        return skipped;
    }

    private static bool IsNpy(string path) => string.Equals(Path.GetExtension(path), ".npy", StringComparison.OrdinalIgnoreCase);
    private static bool IsImage(string path) => ImagePreprocessor.ImageExtensions.Contains(Path.GetExtension(path));

    private static HeteroBatchException ShapeError(string what, int[] shape, int[] modelItemShape) =>
        new(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
            $"{what} has shape [{string.Join(",", shape)}]; the model expects [N,{string.Join(",", modelItemShape)}] or one item [{string.Join(",", modelItemShape)}].", what);
}
