using System.Collections.Concurrent;
using Google.Protobuf;
using HeteroBatch.Engine.Errors;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace HeteroBatch.Engine.Models;

/// <summary>Progress of <see cref="ModelResolver.Resolve(string, string?, IProgress{ModelProgress}?, CancellationToken)"/>.</summary>
/// <param name="Model">The zoo name or file being resolved.</param>
/// <param name="Activity">What is happening: "Generating", "Reading", "Checking batch".</param>
/// <param name="Completed">Bytes done (0 when unknown).</param>
/// <param name="Total">Bytes in all (0 when unknown).</param>
public sealed record ModelProgress(string Model, string Activity, long Completed, long Total)
{
    public int PercentComplete => Total > 0 ? (int)Math.Clamp(Completed * 100 / Total, 0, 100) : -1;
}

/// <summary>
/// Turns what a user typed after <c>-Model</c> into a <see cref="ModelInfo"/>: a zoo name
/// (<see cref="ModelZoo"/>, generated into the cache on first use) or the path of any ONNX file.
/// A zoo name wins over a same-named file in the current folder; write <c>./resnet-50</c> for the file.
/// Results are remembered per file path, length and modification time (in memory and in the cache
/// folder), so repeated calls neither re-hash nor re-parse large files.
/// Error ids: "ModelNotFound" (no such file or zoo name; lists the zoo), "ModelInvalid" (empty, corrupt
/// or not ONNX), "ModelUnsupported" (valid ONNX that HeteroBatch cannot batch: several inputs, non-float
/// tensors, open item dimensions), "FixedBatchModel" (fixed batch above 1 that cannot be made symbolic),
/// "ModelUnreadable" (the file exists but cannot be read), "ModelCacheUnwritable" (the cache folder cannot be written).
/// </summary>
public static class ModelResolver
{
    /// <summary>Bumped whenever file analysis changes, so remembered facts are recomputed.</summary>
    private const int FactsVersion = 1;

    private static readonly ConcurrentDictionary<(ModelCache.FileStamp, string), ModelInfo> Resolved = new();
    private static readonly ConcurrentDictionary<string, object> GenerationLocks = new(StringComparer.Ordinal);

    /// <summary>Drops what this process remembers (tests use it to act as a fresh process).</summary>
    internal static void ForgetInMemory() => Resolved.Clear();

    /// <summary>Resolves a zoo name or an ONNX file path; generates zoo files on first use.</summary>
    public static ModelInfo Resolve(string nameOrPath, string? cacheDirectory = null)
        => Resolve(nameOrPath, cacheDirectory, null, CancellationToken.None);

    /// <inheritdoc cref="Resolve(string, string?)"/>
    public static ModelInfo Resolve(string nameOrPath, string? cacheDirectory, IProgress<ModelProgress>? progress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath))
            throw new HeteroBatchException(ModelErrorIds.ModelNotFound, ErrorKind.ObjectNotFound,
                $"No model given. Pass the path of an ONNX file or a zoo name: {string.Join(", ", ModelZoo.Names)}.", nameOrPath);
        var directory = ModelCache.ResolveDirectory(cacheDirectory);
        if (ModelZoo.TryGetCanonicalName(nameOrPath, out var zooName) && nameOrPath.IndexOfAny(['/', '\\']) < 0)
            return ResolveZoo(zooName, directory, progress, cancellationToken);
        return ResolveFile(nameOrPath, directory, progress, cancellationToken);
    }

    private static ModelInfo ResolveZoo(string name, string directory, IProgress<ModelProgress>? progress, CancellationToken cancellationToken)
    {
        var network = ModelZoo.GetNetwork(name);
        var path = Path.Combine(directory, network.FileName);
        var sidecar = path + ".sha256.json";
        if (!IsComplete(path, network.FileSize))
        {
            ModelCache.EnsureDirectory(directory);
            lock (GenerationLocks.GetOrAdd(path, _ => new object()))
            {
                // A length check catches files cut short by a crash; the rename makes torn files impossible otherwise.
                if (!IsComplete(path, network.FileSize))
                {
                    string hash = "";
                    try
                    {
                        ModelCache.WriteAtomically(path, file =>
                        {
                            using var hashing = new ModelCache.HashingStream(file);
                            progress?.Report(new ModelProgress(name, "Generating", 0, network.FileSize));
                            network.WriteTo(hashing, progress is null ? null : new SynchronousProgress(_ =>
                                progress.Report(new ModelProgress(name, "Generating", hashing.BytesWritten, network.FileSize))), cancellationToken);
                            if (hashing.BytesWritten != network.FileSize)
                                throw new InvalidOperationException($"Zoo writer produced {hashing.BytesWritten} bytes for {name}, expected {network.FileSize}.");
                            hash = hashing.HashHex();
                            progress?.Report(new ModelProgress(name, "Generating", network.FileSize, network.FileSize));
                        });
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new HeteroBatchException(ModelErrorIds.ModelCacheUnwritable, ErrorKind.WriteError,
                            $"Cannot write zoo network '{name}' to '{path}': {e.Message} Set {ModelCache.EnvironmentVariable} to a writable folder with {network.FileSize / 1_000_000 + 1} MB free.",
                            path, e);
                    }
                    ModelCache.RememberHash(path, hash, sidecar);
                }
            }
        }

        var definition = network.Definition;
        return new ModelInfo
        {
            Name = definition.Name,
            Path = path,
            SourcePath = path,
            Hash = ModelCache.GetOrComputeHash(path, sidecar),
            Source = "zoo",
            InputName = Zoo.ZooNetwork.InputName,
            InputItemShape = (int[])definition.InputItemShape.Clone(),
            OutputName = Zoo.ZooNetwork.OutputName,
            OutputItemShape = [definition.Classes],
            MaxBatchSize = null,
            ParameterCount = network.ParameterCount,
        };
    }

    private static bool IsComplete(string path, long expectedLength)
    {
        var file = new FileInfo(path);
        return file.Exists && file.Length == expectedLength;
    }

    private static ModelInfo ResolveFile(string nameOrPath, string directory, IProgress<ModelProgress>? progress, CancellationToken cancellationToken)
    {
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(nameOrPath);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw NotFound(nameOrPath, "it is not a valid path");
        }
        if (Directory.Exists(fullPath)) throw NotFound(nameOrPath, $"'{fullPath}' is a folder, not an ONNX file");
        if (!File.Exists(fullPath)) throw NotFound(nameOrPath, $"there is no file '{fullPath}'");

        var stamp = ModelCache.FileStamp.Of(fullPath);
        if (stamp.Length == 0) throw OnnxModelAnalysis.Invalid(fullPath, "the file is empty.");
        if (Resolved.TryGetValue((stamp, directory), out var known)) return known;

        var factsPath = Path.Combine(directory, "files", ModelCache.HashText(fullPath)[..32] + ".json");
        if (ModelCache.TryReadJson<FileFacts>(factsPath) is { } remembered && remembered.Matches(stamp))
            return Resolved[(stamp, directory)] = remembered.Info;

        progress?.Report(new ModelProgress(fullPath, "Reading", 0, stamp.Length));
        ModelProto model;
        string hash;
        try
        {
            using var file = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            using var hashing = new ModelCache.HashingReadStream(file);
            model = ModelProto.Parser.ParseFrom(hashing);
            hash = hashing.FinishHashHex();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw OnnxModelAnalysis.Invalid(fullPath, $"it is not an ONNX protobuf file, or it is truncated or corrupt ({e.Message}).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(ModelErrorIds.ModelUnreadable, ErrorKind.ReadError, $"Cannot read '{fullPath}': {e.Message} Check that the file is readable by this user.", fullPath, e);
        }
        cancellationToken.ThrowIfCancellationRequested();

        var facts = OnnxModelAnalysis.Analyze(model, fullPath);
        var sessionPath = fullPath;
        int? maxBatch = null;
        string? note = null;
        var outputShape = facts.OutputItemShape;
        if (facts.FixedBatch is not null)
        {
            progress?.Report(new ModelProgress(fullPath, "Checking batch", 0, 0));
            var rebatched = BatchRewriter.Rebatch(model, facts, fullPath, hash, directory, cancellationToken);
            (sessionPath, maxBatch, note) = (rebatched.Path, rebatched.MaxBatchSize, rebatched.Note);
            outputShape ??= rebatched.OutputItemShape;
        }
        if (outputShape is null)
        {
            // The file leaves an output dimension open: one CPU run tells.
            try
            {
                using var session = OrtProbe.Open(sessionPath);
                outputShape = OrtProbe.OutputItemShape(session, facts.InputName, facts.InputItemShape, facts.OutputName);
            }
            catch (OnnxRuntimeException e)
            {
                throw OnnxModelAnalysis.Invalid(fullPath, $"ONNX Runtime cannot run it ({OrtProbe.FirstLine(e.Message)}).", e);
            }
        }

        var info = new ModelInfo
        {
            Name = Path.GetFileNameWithoutExtension(fullPath),
            Path = sessionPath,
            SourcePath = fullPath,
            Hash = hash,
            Source = "file",
            InputName = facts.InputName,
            InputItemShape = facts.InputItemShape,
            OutputName = facts.OutputName,
            OutputItemShape = outputShape,
            MaxBatchSize = maxBatch,
            ParameterCount = facts.ParameterCount,
            BatchNote = note,
        };
        var copy = sessionPath == fullPath ? default : ModelCache.FileStamp.Of(sessionPath);
        ModelCache.TryWriteJson(factsPath, new FileFacts(FactsVersion, stamp.Length, stamp.LastWriteUtcTicks, info, copy.Length, copy.LastWriteUtcTicks));
        return Resolved[(stamp, directory)] = info;
    }

    private static HeteroBatchException NotFound(string nameOrPath, string why)
        => new(ModelErrorIds.ModelNotFound, ErrorKind.ObjectNotFound,
            $"Model '{nameOrPath}' not found: {why}, and it is not a zoo name. Zoo networks: {string.Join(", ", ModelZoo.Names)}.",
            nameOrPath);

    /// <summary>Remembered facts of a user file; the Copy* fields stamp the rewritten copy when <c>Info.Path</c> is one.</summary>
    internal sealed record FileFacts(int Version, long Length, long LastWriteUtcTicks, ModelInfo Info, long CopyLength, long CopyLastWriteUtcTicks)
    {
        public bool Matches(ModelCache.FileStamp stamp)
        {
            if (Version != FactsVersion || Length != stamp.Length || LastWriteUtcTicks != stamp.LastWriteUtcTicks
                || Info.SourcePath != stamp.Path || !ModelCache.IsSha256(Info.Hash))
                return false;
            if (Info.Path == stamp.Path) return true;
            if (!File.Exists(Info.Path)) return false;
            var copy = ModelCache.FileStamp.Of(Info.Path);
            return copy.Length == CopyLength && copy.LastWriteUtcTicks == CopyLastWriteUtcTicks;
        }
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
