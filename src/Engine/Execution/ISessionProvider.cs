using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Where the executor gets a unit's session. The default gives cached sessions (one per model, unit and
/// options for the process lifetime); tests wrap it to inject failures. The executor never disposes what
/// it is given: the provider owns the sessions.
/// </summary>
public interface ISessionProvider
{
    /// <summary>Called on the unit's worker thread before each of its assignments.</summary>
    IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options);

    /// <summary>The unit failed (e.g. out of GPU memory): its session is not to be handed out again; the next
    /// <see cref="Acquire"/> opens a fresh one. Called on the unit's worker thread. Default: nothing to release.</summary>
    void Release(ModelInfo model, ComputeUnit unit, BackendOptions options) { }
}
