using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;

namespace HeteroBatch.Engine.Distributed;

/// <summary>
/// The coordinator's view of a cross-machine batch's input: how many items it has and, for any range of them, what
/// a machine needs to load exactly those items. Files stay where they are (only their paths travel, so they must be
/// readable at the same path on every machine: shared storage); a synthetic batch travels as its size and seed; only
/// a caller's tensor travels as data.
/// </summary>
internal sealed class InputSlicer
{
    private readonly SyntheticInput? _synthetic;
    private readonly List<string>? _files;
    private readonly int[]? _npyCounts;     // items per file, for .npy input; null for images
    private readonly long[]? _npyStarts;    // first item of each file
    private readonly BatchInput? _tensor;

    private InputSlicer(int count, IReadOnlyList<string>? sources, string description,
        SyntheticInput? synthetic = null, List<string>? files = null, int[]? npyCounts = null, BatchInput? tensor = null)
    {
        Count = count;
        Sources = sources;
        Description = description;
        _synthetic = synthetic;
        _files = files;
        _npyCounts = npyCounts;
        _tensor = tensor;
        if (npyCounts is not null)
        {
            _npyStarts = new long[npyCounts.Length];
            long at = 0;
            for (int i = 0; i < npyCounts.Length; i++) { _npyStarts[i] = at; at += npyCounts[i]; }
        }
    }

    public int Count { get; }
    /// <summary>Per item, where it came from (file name), or null.</summary>
    public IReadOnlyList<string>? Sources { get; }
    public string Description { get; }

    public static InputSlicer Create(InputSource source, ModelFacts model)
    {
        ArgumentNullException.ThrowIfNull(source);
        switch (source)
        {
            case SyntheticInput s:
                if (s.BatchSize <= 0)
                    throw new HeteroBatchException(ExecutionErrorIds.InvalidBatchSize, ErrorKind.InvalidArgument,
                        $"The batch size must be a positive number of items; {s.BatchSize} was given.", s.BatchSize);
                return new InputSlicer(s.BatchSize, null, $"synthetic batch of {s.BatchSize} (seed {s.Seed})", synthetic: s);
            case FileInput f:
            {
                var files = BatchInputLoader.ExpandPaths(f.Paths).Select(Path.GetFullPath).ToList();
                bool npy = files.Any(IsNpy);
                if (npy && files.Any(p => !IsNpy(p)))
                    throw new HeteroBatchException(ExecutionErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                        "The input mixes images and .npy tensors; give one kind per batch.", string.Join(";", f.Paths));
                if (!npy)
                    return new InputSlicer(files.Count, files.Select(Path.GetFileName).ToArray()!,
                        files.Count == 1 ? $"image {files[0]}" : $"{files.Count} images", files: files);
                var counts = BatchInputLoader.NpyItemCounts(files, model.InputItemShape);
                long total = counts.Sum(c => (long)c);
                if (total == 0)
                    throw new HeteroBatchException(ExecutionErrorIds.EmptyInput, ErrorKind.InvalidArgument,
                        "The .npy input holds no items (its first dimension is 0).", string.Join(";", files));
                if (total > int.MaxValue)
                    throw new HeteroBatchException(ExecutionErrorIds.InvalidBatchSize, ErrorKind.LimitsExceeded, $"The input holds {total} items, too many for one batch.", total);
                var sources = new List<string>();
                for (int i = 0; i < files.Count; i++)
                {
                    var name = Path.GetFileName(files[i]);
                    var header = Inputs.NpyFile.ReadHeader(files[i]);
                    if (header.Shape.Length == model.InputItemShape.Length) sources.Add(name);
                    else for (int k = 0; k < counts[i]; k++) sources.Add(name + "[" + k + "]");
                }
                return new InputSlicer((int)total, sources, files.Count == 1 ? $"tensor {files[0]}" : $"{files.Count} .npy files", files: files, npyCounts: counts);
            }
            case ArrayInput a:
            {
                var batch = BatchInputLoader.FromArray(a.Data, a.Shape, model.InputItemShape);
                return new InputSlicer(batch.Count, null, batch.Description, tensor: batch);
            }
            default:
                throw new HeteroBatchException(ExecutionErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                    $"A {source.GetType().Name} cannot be split across machines; give files, a synthetic batch or an array.", source.GetType().Name);
        }
    }

    /// <summary>What a machine loads for items [first, first+count).</summary>
    public ShareInput For(int first, int count)
    {
        if (first < 0 || count <= 0 || first + count > Count) throw new ArgumentOutOfRangeException(nameof(first));
        if (_synthetic is not null)
            return new ShareInput { Kind = ShareInput.SyntheticKind, BatchSize = _synthetic.BatchSize, Seed = _synthetic.Seed, FirstItem = first, Count = count };
        if (_tensor is not null)
            return new ShareInput { Kind = ShareInput.TensorKind, Count = count, ItemShape = _tensor.ItemShape };
        if (_npyCounts is null)
            return new ShareInput { Kind = ShareInput.FilesKind, Files = _files!.GetRange(first, count).ToArray(), FirstItem = 0, Count = count };

        // .npy: the files the range overlaps, and where the range starts in the first of them.
        int firstFile = Array.FindLastIndex(_npyStarts!, s => s <= first);
        int lastFile = firstFile;
        while (_npyStarts![lastFile] + _npyCounts[lastFile] < first + count) lastFile++;
        return new ShareInput
        {
            Kind = ShareInput.FilesKind,
            Files = _files!.GetRange(firstFile, lastFile - firstFile + 1).ToArray(),
            FirstItem = (int)(first - _npyStarts[firstFile]),
            Count = count,
        };
    }

    /// <summary>Items [first, first+count) of a tensor input (a copy that travels); null for other inputs.</summary>
    public float[]? TensorFor(int first, int count) => _tensor?.Slice(first, count).ToArray();

    private static bool IsNpy(string path) => string.Equals(Path.GetExtension(path), ".npy", StringComparison.OrdinalIgnoreCase);
}
