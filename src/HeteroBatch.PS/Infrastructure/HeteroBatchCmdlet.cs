using System.Collections.Concurrent;
using System.Management.Automation;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>
/// Base of the module's cmdlets. Engine work runs on a worker task; everything it reports (objects,
/// progress, verbose text) is queued and written from the pipeline thread, the only thread PowerShell
/// lets write. Ctrl+C (StopProcessing) cancels the engine through one CancellationTokenSource.
/// </summary>
public abstract class HeteroBatchCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _nextActivityId = 1;

    protected CancellationToken StopToken => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A progress activity id unique within this cmdlet invocation.</summary>
    protected int NewActivityId() => _nextActivityId++;

    /// <summary>Writes the error for <paramref name="exception"/> and stops the pipeline (terminating).</summary>
    protected void ThrowEngineError(Exception exception, object? target = null)
    {
        if (exception is OperationCanceledException) throw new PipelineStoppedException();
        ThrowTerminatingError(ErrorMapping.ToErrorRecord(exception, target));
    }

    /// <summary>Writes the error for <paramref name="exception"/> and carries on with the next input.</summary>
    protected void WriteEngineError(Exception exception, object? target = null)
    {
        if (exception is OperationCanceledException) throw new PipelineStoppedException();
        WriteError(ErrorMapping.ToErrorRecord(exception, target));
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread and pumps what it posts to <see cref="PipelineSink"/>
    /// onto the pipeline until it ends. Engine exceptions become terminating ErrorRecords.
    /// </summary>
    protected T RunEngine<T>(Func<PipelineSink, CancellationToken, T> work, object? errorTarget = null)
    {
        try
        {
            return RunEngineWork(work, errorTarget);
        }
        catch (HeteroBatchException ex)
        {
            ThrowEngineError(ex, errorTarget);
            throw; // unreachable: ThrowTerminatingError throws
        }
    }

    /// <summary>
    /// As <see cref="RunEngine{T}"/> for one job of several (a piped record): the job's engine error is written as a
    /// non-terminating ErrorRecord and the next record goes on (false is returned); Ctrl+C still stops the pipeline.
    /// </summary>
    protected bool TryRunEngine<T>(Func<PipelineSink, CancellationToken, T> work, object? errorTarget, out T result)
    {
        try
        {
            result = RunEngineWork(work, errorTarget);
            return true;
        }
        catch (HeteroBatchException ex)
        {
            WriteEngineError(ex, errorTarget);
            result = default!;
            return false;
        }
    }

    /// <summary>The work of <see cref="RunEngine{T}"/>: its engine errors are thrown as they are, other failures are terminating.</summary>
    private T RunEngineWork<T>(Func<PipelineSink, CancellationToken, T> work, object? errorTarget)
    {
        using var queue = new BlockingCollection<Action>();
        var sink = new PipelineSink(queue);
        var task = Task.Factory.StartNew(() =>
        {
            try { return work(sink, _stop.Token); }
            finally { queue.CompleteAdding(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        try
        {
            foreach (var action in queue.GetConsumingEnumerable(_stop.Token)) action();
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: the engine sees the same token; wait briefly so sessions end their runs cleanly.
            try { task.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
            ReportInterrupted();
            throw new PipelineStoppedException();
        }

        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            ReportInterrupted();
            throw new PipelineStoppedException();
        }
        catch (Exception ex) when (ex is not HeteroBatchException and not PipelineStoppedException and not PipelineClosedException)
        {
            ThrowEngineError(ex, errorTarget);
            throw;
        }
    }

    /// <summary>Exit code of a pwsh that runs a command or script when Ctrl+C interrupts a cmdlet: 128 + SIGINT, as shells report it.</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>What the interrupted command kept (e.g. the rows saved to the table), said after Ctrl+C; null says nothing more.</summary>
    protected virtual string? InterruptedNote => null;

    /// <summary>
    /// After Ctrl+C: says so on the host's error output, with what was kept, and when pwsh runs a command or script
    /// (-Command, -File; not an interactive prompt, not -NoExit) makes its exit code <see cref="InterruptedExitCode"/>.
    /// </summary>
    private void ReportInterrupted()
    {
        bool exits = RunsCommandThenExits();
        var text = $"{MyInvocation.MyCommand.Name} was interrupted (Ctrl+C).{(InterruptedNote is { Length: > 0 } note ? " " + note : "")}" +
                   (exits ? $" pwsh exits with code {InterruptedExitCode}." : "");
        try
        {
            Host.UI.WriteErrorLine(text);
            if (exits) Host.SetShouldExit(InterruptedExitCode);
        }
        catch (Exception ex) when (ex is NotImplementedException or NotSupportedException or InvalidOperationException or PipelineStoppedException)
        {
            // A host without these: the pipeline still stops.
        }
    }

    /// <summary>True when this is the console pwsh started to run a command or script and exit (-Command, -File, -EncodedCommand, a script path), without -NoExit.</summary>
    private bool RunsCommandThenExits()
    {
        if (!string.Equals(Host.Name, "ConsoleHost", StringComparison.Ordinal)) return false;
        // Only the console's own runspace: a thread job stopped by its parent is no Ctrl+C of the process.
        if (Host is System.Management.Automation.Host.IHostSupportsInteractiveSession session
            && !ReferenceEquals(session.Runspace, System.Management.Automation.Runspaces.Runspace.DefaultRunspace)) return false;
        var args = Environment.GetCommandLineArgs().Skip(1).ToArray();
        bool command = false, noExit = false;
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (i == 0 && a.Length > 0 && a[0] is not ('-' or '/')) { command = true; break; } // pwsh script.ps1
            var name = a.TrimStart('-', '/').ToLowerInvariant();
            if (name.Length == 0 || a.Length == name.Length) continue;
            if (name is "c" or "f" or "e" or "ec" || (name.Length >= 3 && ("command".StartsWith(name, StringComparison.Ordinal)
                || "file".StartsWith(name, StringComparison.Ordinal) || "encodedcommand".StartsWith(name, StringComparison.Ordinal))))
            {
                command = true;
                break; // what follows is the command or the script's arguments
            }
            if (name.Length >= 3 && "noexit".StartsWith(name, StringComparison.Ordinal)) noExit = true;
        }
        return command && !noExit;
    }

    /// <summary>Runs engine work that posts nothing and returns a value.</summary>
    protected void RunEngine(Action<PipelineSink, CancellationToken> work, object? errorTarget = null)
        => RunEngine<object?>((sink, ct) => { work(sink, ct); return null; }, errorTarget);

    /// <summary>An IProgress that calls <paramref name="report"/> on the reporting thread (no SynchronizationContext hop).</summary>
    protected static IProgress<T> ProgressTo<T>(Action<T> report) => new CallbackProgress<T>(report);

    /// <summary>
    /// An IProgress that forwards a report only once <paramref name="quiet"/> has passed since it was made, then at
    /// most one per <paramref name="quiet"/>: writing progress costs the pipeline thread a millisecond or more per
    /// record, more than a GPU run of a small batch, and a call that ends sooner needs no progress bar.
    /// </summary>
    protected static IProgress<T> ThrottledProgressTo<T>(Action<T> report, TimeSpan quiet)
    {
        long interval = (long)(quiet.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        long next = System.Diagnostics.Stopwatch.GetTimestamp() + interval;
        return new CallbackProgress<T>(value =>
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            long due = Interlocked.Read(ref next);
            if (now < due || Interlocked.CompareExchange(ref next, now + interval, due) != due) return;
            report(value);
        });
    }

    /// <summary>The engine's output channel for work run by <see cref="RunEngine{T}"/>: verbose and warnings to this cmdlet's
    /// streams, progress to <paramref name="progress"/>.</summary>
    private protected IOutputWriter OutputTo(PipelineSink sink, IProgress<ExecutionProgress> progress) => new CmdletOutputWriter(this, sink.Post, progress);

    /// <summary>Queues the final Completed record of a progress activity.</summary>
    protected void PostProgressCompleted(PipelineSink sink, int activityId, string activity) =>
        sink.Post(() => WriteProgress(new ProgressRecord(activityId, activity, "done") { RecordType = ProgressRecordType.Completed }));

    private sealed class CallbackProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Queue through which engine threads hand output and progress to the pipeline thread.</summary>
    protected sealed class PipelineSink
    {
        private readonly BlockingCollection<Action> _queue;
        internal PipelineSink(BlockingCollection<Action> queue) => _queue = queue;
        public void Post(Action action)
        {
            // Late posts from engine threads after the work ended are dropped: nothing reads the queue then.
            try { _queue.Add(action); }
            catch (InvalidOperationException) { } // also ObjectDisposedException
        }
    }
}
