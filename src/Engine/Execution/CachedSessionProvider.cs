using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>Sessions from a <see cref="BackendRegistry"/>'s cache: loaded once per (model, unit, options) for the process.</summary>
public sealed class CachedSessionProvider : ISessionProvider
{
    private readonly BackendRegistry _registry;

    public CachedSessionProvider(BackendRegistry? registry = null) => _registry = registry ?? BackendRegistry.Default;

    /// <summary>Over <see cref="BackendRegistry.Default"/> (the process-wide <see cref="SessionCache.Shared"/>).</summary>
    public static CachedSessionProvider Default { get; } = new();

    public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) => _registry.OpenSession(model, unit, options);

    /// <summary>The cache's open session of the unit (null when none is open); opens nothing.</summary>
    public bool TryPeek(ModelInfo model, ComputeUnit unit, BackendOptions options, out IInferenceSession? session)
    {
        session = _registry.Cache.Find(model, unit, options);
        return true;
    }

    /// <summary>Closes and forgets the unit's cached session of <paramref name="model"/> with <paramref name="options"/>.</summary>
    public void Release(ModelInfo model, ComputeUnit unit, BackendOptions options)
    {
        var key = SessionKey.For(model, unit, options);
        _registry.Cache.Evict(k => k == key);
    }
}
