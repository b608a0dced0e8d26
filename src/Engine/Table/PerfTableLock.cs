using System.Diagnostics;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Table;

/// <summary>
/// Cross-process exclusive lock on <c>&lt;table&gt;.lock</c>: the file is held open with FileShare.None
/// (on Linux and macOS .NET takes a flock, released by the OS if the holder dies). The lock file itself is
/// never deleted: unlinking it could let two processes lock two different inodes.
/// </summary>
internal sealed class PerfTableLock : IDisposable
{
    private readonly FileStream _stream;

    private PerfTableLock(FileStream stream) => _stream = stream;

    public static PerfTableLock Acquire(string lockPath, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var delayMs = 2;
        IOException? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.None);
                return new PerfTableLock(stream);
            }
            catch (IOException ex) when (IsHeldByAnotherWriter(ex))
            {
                // Held by another writer (sharing violation / EWOULDBLOCK): back off with jitter and retry.
                last = ex;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Anything else (read-only file system, no permission, no such folder, disk full) will not pass by
                // waiting: fail at once, naming the folder.
                throw WriteFailed(lockPath, ex);
            }

            if (clock.Elapsed >= timeout)
                throw new HeteroBatchException(TableErrorIds.PerfTableLocked, ErrorKind.ResourceUnavailable,
                    $"The perf table is locked by another writer: '{lockPath}' stayed locked for {timeout.TotalSeconds:0.#} s ({last?.Message}). " +
                    "Wait for the other HeteroBatch process to finish, or if none is running, retry (the lock is released when its holder exits).",
                    lockPath, last);
            var sleep = Math.Min(delayMs + Random.Shared.Next(0, delayMs + 1), (int)Math.Max(1, (timeout - clock.Elapsed).TotalMilliseconds));
            if (cancellationToken.WaitHandle.WaitOne(sleep)) cancellationToken.ThrowIfCancellationRequested();
            delayMs = Math.Min(delayMs * 2, 100);
        }
    }

    /// <summary>
    /// Fails at once with <c>PerfTableWriteFailed</c> when the lock file cannot be created or opened for writing
    /// (read-only file system, no permission, ...); a lock held by another writer is no such failure. Takes no lock.
    /// </summary>
    public static void CheckWritable(string lockPath)
    {
        try
        {
            using var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 1, FileOptions.None);
        }
        catch (IOException ex) when (IsHeldByAnotherWriter(ex))
        {
            // Another writer holds it: the location is writable.
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(lockPath, ex);
        }
    }

    /// <summary>
    /// True for the error of a lock held by another process: EWOULDBLOCK from flock on Unix (11 on Linux,
    /// 35 on macOS and BSD), a sharing or lock violation on Windows. Other I/O errors (EROFS, ENOSPC, ENOENT...)
    /// are not contention and must not be waited on.
    /// </summary>
    internal static bool IsHeldByAnotherWriter(IOException ex)
    {
        if (ex is FileNotFoundException or DirectoryNotFoundException or PathTooLongException or DriveNotFoundException) return false;
        int code = ex.HResult;
        if (OperatingSystem.IsWindows()) return (code & 0xFFFF) is 32 or 33; // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
        if (OperatingSystem.IsLinux()) return code == 11;                    // EAGAIN / EWOULDBLOCK
        return code == 35;                                                    // EWOULDBLOCK on macOS / BSD
    }

    internal static HeteroBatchException WriteFailed(string lockPath, Exception ex)
    {
        var folder = Path.GetDirectoryName(lockPath) ?? lockPath;
        return new HeteroBatchException(TableErrorIds.PerfTableWriteFailed, ErrorKind.WriteError,
            $"Cannot write the perf table in the folder '{folder}': {ex.Message} " +
            "Choose a writable location with -Path (or $env:HETEROBATCH_PERFTABLE), or make the folder writable.",
            folder, ex);
    }

    public void Dispose() => _stream.Dispose();
}
