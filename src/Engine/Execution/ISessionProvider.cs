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

    /// <summary>
    /// What the planner needs to know whether a unit is cold, opening nothing: true with the unit's open session (ask it
    /// <see cref="IWarmableSession.IsWarm"/>), true with null when none is open, false when the provider cannot tell
    /// (the default: the planner then leaves the plan as it is).
    /// </summary>
    bool TryPeek(ModelInfo model, ComputeUnit unit, BackendOptions options, out IInferenceSession? session)
    {
        session = null;
        return false;
    }
}
