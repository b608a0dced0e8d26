using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Models;

/// <summary>
/// The per-user folder that holds generated zoo networks, batch-rewritten copies of fixed-batch
/// files, and small JSON sidecars that remember hashes so a 550 MB file is not re-hashed on every call.
/// </summary>
public static partial class ModelCache
{
    /// <summary>Environment variable that, when set, is the model cache folder itself.</summary>
    public const string EnvironmentVariable = "HETEROBATCH_CACHE";

    /// <summary>
    /// The cache folder: <paramref name="explicitDirectory"/> when given; else %HETEROBATCH_CACHE%;
    /// else %LOCALAPPDATA%\HeteroBatch\models on Windows and $XDG_CACHE_HOME (or ~/.cache)/HeteroBatch/models elsewhere.
    /// </summary>
    public static string ResolveDirectory(string? explicitDirectory = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitDirectory)) return Path.GetFullPath(explicitDirectory);
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment)) return Path.GetFullPath(fromEnvironment);
        string root;
        if (OperatingSystem.IsWindows())
        {
            root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        }
        else
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            root = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        }
        return Path.Combine(root, "HeteroBatch", "models");
    }

    internal static string EnsureDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            return directory;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(ModelErrorIds.ModelCacheUnwritable, ErrorKind.WriteError,
                $"Cannot create the model cache folder '{directory}': {e.Message} Set {EnvironmentVariable} to a writable folder.",
                directory, e);
        }
    }

    /// <summary>
    /// Writes a file atomically: <paramref name="write"/> fills a temporary file in the same folder,
    /// which is then renamed over <paramref name="finalPath"/>. Readers never see a half-written file;
    /// when another process wins the race with identical content, its file is kept.
    /// </summary>
    internal static void WriteAtomically(string finalPath, Action<Stream> write)
    {
        var directory = Path.GetDirectoryName(finalPath)!;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(finalPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temporary, finalPath, overwrite: true);
            }
            catch (IOException) when (File.Exists(finalPath))
            {
                // Windows refuses to replace a file another process has open; that process wrote the same bytes.
            }
        }
        finally
        {
            try { if (File.Exists(temporary)) File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    internal static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    internal static string HashText(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Identity of a file's current content as far as the file system can tell without reading it.</summary>
    internal readonly record struct FileStamp(string Path, long Length, long LastWriteUtcTicks)
    {
        public static FileStamp Of(string path)
        {
            var info = new FileInfo(path);
            return new FileStamp(info.FullName, info.Length, info.LastWriteTimeUtc.Ticks);
        }
    }

    private static readonly ConcurrentDictionary<FileStamp, string> HashesInMemory = new();

    /// <summary>Drops hashes this process remembers (tests use it to act as a fresh process).</summary>
    internal static void ForgetInMemory() => HashesInMemory.Clear();

    /// <summary>
    /// SHA-256 of a file, remembered in memory and in a sidecar (<c>path.sha256.json</c> next to files
    /// in the cache, or <paramref name="sidecarPath"/>), both keyed by path, length and modification time.
    /// </summary>
    internal static string GetOrComputeHash(string path, string? sidecarPath)
    {
        var stamp = FileStamp.Of(path);
        if (HashesInMemory.TryGetValue(stamp, out var known)) return known;
        if (sidecarPath is not null && TryReadJson<HashSidecar>(sidecarPath) is { } sidecar
            && sidecar.Length == stamp.Length && sidecar.LastWriteUtcTicks == stamp.LastWriteUtcTicks && IsSha256(sidecar.Sha256))
        {
            HashesInMemory[stamp] = sidecar.Sha256;
            return sidecar.Sha256;
        }
        var hash = HashFile(path);
        RememberHash(path, hash, sidecarPath);
        return hash;
    }

    /// <summary>Records a hash computed while writing <paramref name="path"/>.</summary>
    internal static void RememberHash(string path, string hash, string? sidecarPath)
    {
        var stamp = FileStamp.Of(path);
        HashesInMemory[stamp] = hash;
        if (sidecarPath is not null)
            TryWriteJson(sidecarPath, new HashSidecar(stamp.Length, stamp.LastWriteUtcTicks, hash));
    }

    internal static bool IsSha256(string? text) => text is { Length: 64 } && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    internal static T? TryReadJson<T>(string path) where T : class
    {
        try
        {
            return File.Exists(path) ? (T?)JsonSerializer.Deserialize(File.ReadAllBytes(path), typeof(T), ModelsJsonContext.Default) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null; // a damaged sidecar only costs a recomputation
        }
    }

    /// <summary>Best effort: a read-only cache folder only means facts are recomputed next time.</summary>
    internal static void TryWriteJson<T>(string path, T value)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), ModelsJsonContext.Default);
            WriteAtomically(path, s => s.Write(bytes));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    internal sealed record HashSidecar(long Length, long LastWriteUtcTicks, string Sha256);
}

/// <summary>Source-generated JSON for the cache sidecars (works trimmed and without reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(ModelCache.HashSidecar))]
[JsonSerializable(typeof(BatchRewriter.Verdict))]
[JsonSerializable(typeof(ModelResolver.FileFacts))]
internal sealed partial class ModelsJsonContext : JsonSerializerContext
{
}

public static partial class ModelCache
{
    /// <summary>A write-through stream that hashes and counts what passes.</summary>
    internal sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long BytesWritten { get; private set; }
        public string HashHex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            inner.Write(buffer);
            BytesWritten += buffer.Length;
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A read-through stream that hashes what the parser consumes.</summary>
    internal sealed class HashingReadStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        /// <summary>Reads whatever the consumer left unread, then returns the hash of the whole stream.</summary>
        public string FinishHashHex()
        {
            var rest = new byte[1 << 16];
            while (Read(rest, 0, rest.Length) > 0) { }
            return Convert.ToHexStringLower(_hash.GetHashAndReset());
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            _hash.AppendData(buffer[..read]);
            return read;
        }
        public override void Flush() { }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
