using System.Collections.Concurrent;
using System.Diagnostics;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Takes the completions of work handed to workers (units, machines) until the run is cancelled; after that,
/// only for a grace period, so in-flight work can go quiet without the run waiting on it forever.
/// </summary>
internal sealed class CompletionDrain<T>(BlockingCollection<T> completions, CancellationToken token, Stopwatch clock, TimeSpan grace)
{
    private TimeSpan _deadline = TimeSpan.MaxValue;

    /// <summary>True once the run was cancelled.</summary>
    public bool Stopping { get; private set; }

    /// <summary>The next completion; false when the grace period after a cancel ran out first.</summary>
    public bool TryNext(out T item)
    {
        while (!Stopping)
        {
            try
            {
                item = completions.Take(token);
                return true;
            }
            catch (OperationCanceledException)
            {
                Stopping = true;
                _deadline = clock.Elapsed + grace;
            }
        }
        var left = _deadline - clock.Elapsed;
        if (left > TimeSpan.Zero && completions.TryTake(out item!, left)) return true;
        item = default!;
        return false;
    }
}
