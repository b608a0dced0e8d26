using System.Collections.Concurrent;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends;

/// <summary>Identity of a cached session: the same model bytes on the same unit with the same options.</summary>
public readonly record struct SessionKey(string ModelHash, string MachineName, string UnitId, string OptionsKey)
{
    public static SessionKey For(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
        new(model.Hash, unit.MachineName, unit.Id, options.Key);
}

/// <summary>
/// One open session per (model hash, unit, options) for the process lifetime, so a second invocation of a
/// cmdlet does not reload the model. Creation is thread-safe (two callers asking at once share one load),
/// a failed creation is not remembered, and <see cref="Dispose"/> closes every session.
/// The sessions handed out are owned by the cache: their Dispose does nothing.
/// </summary>
public sealed class SessionCache : IDisposable
{
    private readonly ConcurrentDictionary<SessionKey, Lazy<SharedSession>> _sessions = new();
    private bool _disposed;

    /// <summary>The process-wide cache <see cref="BackendRegistry.Default"/> uses.</summary>
    public static SessionCache Shared { get; } = new();

    public int Count => _sessions.Count(kv => kv.Value.IsValueCreated);

    public IReadOnlyCollection<SessionKey> Keys => _sessions.Where(kv => kv.Value.IsValueCreated).Select(kv => kv.Key).ToArray();

    /// <summary>The cached session for this key, created by <paramref name="create"/> on first use.</summary>
    public IInferenceSession GetOrCreate(ModelInfo model, ComputeUnit unit, BackendOptions options, Func<IInferenceSession> create)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var key = SessionKey.For(model, unit, options);
        var lazy = _sessions.GetOrAdd(key, _ => new Lazy<SharedSession>(
            () => new SharedSession(create()), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // Lazy would replay the failure forever; forget it so the next call tries again.
            _sessions.TryRemove(new KeyValuePair<SessionKey, Lazy<SharedSession>>(key, lazy));
            throw;
        }
    }

    /// <summary>True when the session of (model, unit, options) is open (created, not evicted); opens nothing.</summary>
    public bool IsOpen(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
        _sessions.TryGetValue(SessionKey.For(model, unit, options), out var lazy) && lazy.IsValueCreated;

    /// <summary>The open session of (model, unit, options), or null when none is open; opens nothing. A caller may ask
    /// it which sizes are warm (<see cref="IWarmableSession.IsWarm"/>).</summary>
    public IInferenceSession? Find(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
        _sessions.TryGetValue(SessionKey.For(model, unit, options), out var lazy) && lazy.IsValueCreated ? lazy.Value : null;

    /// <summary>Closes and forgets the sessions whose key matches (e.g. all of one unit after it failed).</summary>
    public int Evict(Func<SessionKey, bool> predicate)
    {
        int count = 0;
        foreach (var (key, lazy) in _sessions.ToArray())
        {
            if (!predicate(key) || !_sessions.TryRemove(new KeyValuePair<SessionKey, Lazy<SharedSession>>(key, lazy))) continue;
            if (lazy.IsValueCreated) { lazy.Value.DisposeInner(); count++; }
        }
        return count;
    }

    /// <summary>Closes every session and forgets them all.</summary>
    public void Clear() => Evict(_ => true);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Clear();
    }

    /// <summary>
    /// A cached session as callers see it: runs are serialised (two runspaces of one process may share a
    /// unit), and Dispose is a no-op because the cache owns the session.
    /// </summary>
    private sealed class SharedSession : IInferenceSession, IChunkPipelineSession, IWarmableSession
    {
        private readonly IInferenceSession _inner;
        private readonly object _runGate = new();
        private bool _closed;

        public SharedSession(IInferenceSession inner) => _inner = inner;

        public ModelInfo Model => _inner.Model;
        public ComputeUnit Unit => _inner.Unit;
        public BackendOptions Options => _inner.Options;

        public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
        {
            lock (_runGate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                return _inner.Run(input, output, batchSize, cancellationToken);
            }
        }

        public IReadOnlyList<RunTiming> RunChunks(ReadOnlyMemory<float> input, Memory<float> output, IReadOnlyList<int> chunkSizes, CancellationToken cancellationToken = default)
        {
            lock (_runGate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_inner is IChunkPipelineSession pipeline) return pipeline.RunChunks(input, output, chunkSizes, cancellationToken);
                return ChunkPipeline.RunOneByOne(_inner, input, output, chunkSizes, cancellationToken);
            }
        }

        public bool IsWarm(int batchSize)
        {
            lock (_runGate) return _inner is not IWarmableSession warm || warm.IsWarm(batchSize);
        }

        public void WarmUp(int batchSize, CancellationToken cancellationToken = default)
        {
            lock (_runGate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_inner is IWarmableSession warm) warm.WarmUp(batchSize, cancellationToken);
            }
        }

        public void PrepareBuffers(ReadOnlyMemory<float> input, int largestChunk)
        {
            lock (_runGate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_inner is IWarmableSession warm) warm.PrepareBuffers(input, largestChunk);
            }
        }

        /// <summary>Owned by the cache; callers' using-blocks must not close a shared session.</summary>
        public void Dispose() { }

        public void DisposeInner()
        {
            lock (_runGate)
            {
                if (_closed) return;
                _closed = true;
                _inner.Dispose();
            }
        }

        /// <summary>The backend session behind this wrapper (for backend-specific features).</summary>
        public IInferenceSession Inner => _inner;
    }

    /// <summary>The backend session behind a cached wrapper, or the session itself.</summary>
    public static IInferenceSession Unwrap(IInferenceSession session) =>
        session is SharedSession shared ? shared.Inner : session;
}

/// <summary>Running chunks one after another, for sessions that cannot overlap them.</summary>
public static class ChunkPipeline
{
    public static IReadOnlyList<RunTiming> RunOneByOne(IInferenceSession session, ReadOnlyMemory<float> input, Memory<float> output,
        IReadOnlyList<int> chunkSizes, CancellationToken cancellationToken)
    {
        int inPer = session.Model.InputElementsPerItem, outPer = session.Model.OutputElementsPerItem, position = 0;
        var timings = new RunTiming[chunkSizes.Count];
        for (int i = 0; i < chunkSizes.Count; i++)
        {
            int size = chunkSizes[i];
            timings[i] = session.Run(input.Slice(position * inPer, size * inPer), output.Slice(position * outPer, size * outPer), size, cancellationToken);
            position += size;
        }
        return timings;
    }
}
