using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// The coordinator of a run over lanes, written once for the units of this machine (<see cref="HeteroExecutor"/>) and
/// for machines (<see cref="Distributed.DistributedInference"/>): it posts the planned work to the lanes, drains their
/// completions, has a failed lane's unfinished items re-planned over the lanes still running (the lanes say how), and
/// ends with the ranges nobody could compute — or throws on a cancel, or on an error that stops the whole run.
/// Lanes run the work on their own threads and report each piece's end with <see cref="Complete"/>.
/// </summary>
internal sealed class LaneCoordinator<TWork> where TWork : ILaneWork
{
    private readonly BlockingCollection<Completion> _completions = new();
    private readonly CancellationToken _caller;
    private readonly CancellationTokenSource _stop;
    private readonly TimeSpan _cancelGrace;

    /// <param name="cancellationToken">The caller's token: cancels the run.</param>
    /// <param name="cancelGrace">How long a cancelled run waits for its lanes to stop before it returns anyway.</param>
    public LaneCoordinator(CancellationToken cancellationToken, TimeSpan cancelGrace)
    {
        _caller = cancellationToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _cancelGrace = cancelGrace;
    }

    /// <summary>Hands a piece of work to its lane (which calls <see cref="Complete"/> when it ends, however it ends).</summary>
    public required Action<TWork> Post { get; init; }

    /// <summary>A lane's work failed: the failed piece, its first unfinished item and the error; returns the work that takes
    /// over [first unfinished, end) on the lanes still running, or none when no lane can (those items are not computed).</summary>
    public required Func<TWork, int, Exception, IReadOnlyList<TWork>> Replan { get; init; }

    /// <summary>True for an error that fails the same way on every lane (bad input): the run stops and throws it.</summary>
    public Func<Exception, bool> StopsRun { get; init; } = _ => false;

    /// <summary>Hears the re-plans (verbose).</summary>
    public IOutputWriter Output { get; init; } = OutputWriters.None;

    /// <summary>A lane's name in messages ("unit cpu", "machine node2").</summary>
    public Func<TWork, string> LaneName { get; init; } = w => w.ToString() ?? "";

    /// <summary>Called after work is posted (the run's progress).</summary>
    public Action ReportProgress { get; init; } = () => { };

    /// <summary>Cancelled when the caller cancels or an error stops the run: what the lanes' work watches.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The run's clock: started by <see cref="Run"/>, stopped when the last completion is in.</summary>
    public Stopwatch Clock { get; } = new();

    /// <summary>Reports the end of <paramref name="work"/>: items before <paramref name="unfinishedFrom"/> are done.</summary>
    public void Complete(TWork work, int unfinishedFrom, Exception? error) =>
        _completions.Add(new Completion(work, unfinishedFrom, error, error is not null && _stop.IsCancellationRequested));

    /// <summary>Runs <paramref name="planned"/> to the end; returns the half-open ranges of items no lane could compute.
    /// Throws the stopping error (see <see cref="StopsRun"/>) or <see cref="OperationCanceledException"/>.</summary>
    public IReadOnlyList<(int From, int To)> Run(IEnumerable<TWork> planned)
    {
        var uncomputed = new List<(int From, int To)>();
        Exception? stopping = null;
        int pending = 0;
        Clock.Start();
        foreach (var work in planned)
        {
            Post(work);
            pending++;
        }
        ReportProgress();

        var drain = new CompletionDrain<Completion>(_completions, _stop.Token, Clock, _cancelGrace);
        while (pending > 0)
        {
            // Lanes abort in-flight work on the token; after a cancel the drain waits for them a moment, not forever.
            if (!drain.TryNext(out var done)) break;
            pending--;
            if (done.Error is null || done.Cancelled || drain.Stopping || _stop.IsCancellationRequested) continue;
            if (StopsRun(done.Error))
            {
                // Bad input fails the same way everywhere: stop, and say what is wrong.
                stopping = done.Error;
                _stop.Cancel();
                continue;
            }
            int from = done.UnfinishedFrom, to = done.Work.Offset + done.Work.Items;
            if (from >= to) continue;
            var replacement = Replan(done.Work, from, done.Error);
            if (replacement.Count == 0)
            {
                Output.WriteVerbose($"{LaneName(done.Work)} failed ({done.Error.Message}); no lane is left to take its items {from}-{to - 1}.");
                uncomputed.Add((from, to));
                continue;
            }
            Output.WriteVerbose($"{LaneName(done.Work)} failed ({done.Error.Message}); its items {from}-{to - 1} were re-planned onto " +
                string.Join(", ", replacement.Select(w => $"{LaneName(w)} ({w.Items})")) + ".");
            foreach (var work in replacement)
            {
                Post(work);
                pending++;
            }
            ReportProgress();
        }

        if (stopping is not null) ExceptionDispatchInfo.Capture(stopping).Throw();
        if (drain.Stopping || _stop.IsCancellationRequested) throw new OperationCanceledException("The inference run was cancelled.", _caller);
        Clock.Stop();
        return uncomputed;
    }

    private sealed record Completion(TWork Work, int UnfinishedFrom, Exception? Error, bool Cancelled);
}
