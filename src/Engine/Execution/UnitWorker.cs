using System.Collections.Concurrent;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// A long-lived dedicated thread per compute unit (not a thread-pool thread, so a busy pool never delays
/// feeding a GPU). Every run on a unit goes through its worker, one work item at a time, which also keeps
/// the unit's cached session single-threaded as <see cref="Backends.IInferenceSession"/> requires, even when
/// two pipelines (two PowerShell runspaces) use the same unit at once. Workers are background threads that
/// live for the process, like the session cache.
/// </summary>
internal sealed class UnitWorker
{
    private static readonly ConcurrentDictionary<string, UnitWorker> Workers = new(StringComparer.Ordinal);

    private readonly BlockingCollection<Action<UnitWorker>> _queue = new();
    private readonly Thread _thread;
    private float[] _stagingInput = Array.Empty<float>();
    private float[] _stagingOutput = Array.Empty<float>();

    private UnitWorker(string key)
    {
        Key = key;
        _thread = new Thread(Loop)
        {
            IsBackground = true,
            Name = "HeteroBatch unit " + key,
        };
        _thread.Start();
    }

    public string Key { get; }

    /// <summary>The worker of the unit named <paramref name="key"/> (machine/unit id), started on first use.</summary>
    public static UnitWorker For(string key) => Workers.GetOrAdd(key, k => new UnitWorker(k));

    /// <summary>The worker of <paramref name="unit"/> (keyed by its machine and id).</summary>
    public static UnitWorker For(Units.ComputeUnit unit) => For(unit.MachineName + "/" + unit.Id);

    /// <summary>Ends every worker's thread once the work queued on it is done (the module is being removed); a later run
    /// starts fresh workers. Returns how many were stopped.</summary>
    public static int StopAll()
    {
        int stopped = 0;
        foreach (var (key, worker) in Workers.ToArray())
        {
            if (!Workers.TryRemove(new KeyValuePair<string, UnitWorker>(key, worker))) continue;
            worker._queue.CompleteAdding();
            stopped++;
        }
        return stopped;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the worker's thread and waits for it, rethrowing what it throws; on the worker's
    /// own thread it runs inline. For questions whose answer belongs to the thread that runs the unit (a CUDA session's
    /// warm sizes: ORT keeps its graphs per host thread).
    /// </summary>
    public T Invoke<T>(Func<T> work)
    {
        if (Thread.CurrentThread == _thread) return work();
        T result = default!;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        using var done = new ManualResetEventSlim();
        Post(_ =>
        {
            try { result = work(); }
            catch (Exception e) { failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
            finally { done.Set(); }
        });
        done.Wait();
        failure?.Throw();
        return result;
    }

    /// <summary>How many unit workers are running.</summary>
    public static int Count => Workers.Count;

    /// <summary>Queues <paramref name="work"/>; it runs on the worker's thread after the items queued before it.
    /// The work must catch its own exceptions; any that escape are dropped so the worker lives on.</summary>
    public void Post(Action<UnitWorker> work) => _queue.Add(work);

    /// <summary>Staging buffer for padded chunks' inputs, reused between runs; only the worker thread touches it.</summary>
    public Memory<float> StagingInput(int elements)
    {
        // Reusable: a GPU page-locks it once and pads chunks by DMA from it.
        // Rounded up so a slightly larger padded chunk does not reallocate (and lock) it again.
        if (_stagingInput.Length < elements) _stagingInput = Backends.PinnedArrays.AllocateReusable(checked((int)Math.Min(Array.MaxLength, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)elements))));
        return _stagingInput.AsMemory(0, elements);
    }

    /// <summary>Staging buffer for padded chunks' outputs, reused between runs; only the worker thread touches it.</summary>
    public Memory<float> StagingOutput(int elements)
    {
        if (_stagingOutput.Length < elements) _stagingOutput = GC.AllocateUninitializedArray<float>(elements, pinned: true);
        return _stagingOutput.AsMemory(0, elements);
    }

    private void Loop()
    {
        foreach (var work in _queue.GetConsumingEnumerable())
        {
            try { work(this); }
            catch { /* work items report their own failures; a stray one must not kill the unit's thread */ }
        }
    }
}
