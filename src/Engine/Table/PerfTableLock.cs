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
            catch (UnauthorizedAccessException ex)
            {
                throw new HeteroBatchException("PerfTableWriteFailed", ErrorKind.WriteError,
                    $"Cannot create or open the perf-table lock file '{lockPath}': {ex.Message} Check the folder's permissions or choose another table with -Path.",
                    lockPath, ex);
            }
            catch (IOException ex) when (ex is not DirectoryNotFoundException and not PathTooLongException)
            {
                // Held by another writer (sharing violation / EWOULDBLOCK): back off with jitter and retry.
                last = ex;
            }

            if (clock.Elapsed >= timeout)
                throw new HeteroBatchException("PerfTableLocked", ErrorKind.ResourceUnavailable,
                    $"The perf table is locked by another writer: '{lockPath}' stayed locked for {timeout.TotalSeconds:0.#} s ({last?.Message}). " +
                    "Wait for the other HeteroBatch process to finish, or if none is running, retry (the lock is released when its holder exits).",
                    lockPath, last);
            var sleep = Math.Min(delayMs + Random.Shared.Next(0, delayMs + 1), (int)Math.Max(1, (timeout - clock.Elapsed).TotalMilliseconds));
            if (cancellationToken.WaitHandle.WaitOne(sleep)) cancellationToken.ThrowIfCancellationRequested();
            delayMs = Math.Min(delayMs * 2, 100);
        }
    }

    public void Dispose() => _stream.Dispose();
}
