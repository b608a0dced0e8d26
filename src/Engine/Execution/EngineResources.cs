using HeteroBatch.Engine.Backends;

namespace HeteroBatch.Engine.Execution;

/// <summary>What the engine holds for the life of the process between runs — the cached sessions (a GPU's memory) and
/// the units' worker threads — and how to give it back (the module does when it is removed).</summary>
public static class EngineResources
{
    /// <summary>Closes every cached session of <see cref="SessionCache.Shared"/> and ends every unit worker thread once its
    /// queued work is done. Runs after this start afresh. Returns the sessions closed and the workers stopped.</summary>
    public static (int Sessions, int Workers) Release()
    {
        int sessions = SessionCache.Shared.Count;
        SessionCache.Shared.Clear();
        int workers = UnitWorker.StopAll();
        return (sessions, workers);
    }

    /// <summary>Unit worker threads running now.</summary>
    public static int WorkerCount => UnitWorker.Count;
}
