using HeteroBatch.Engine.Backends.Cpu;
using HeteroBatch.Engine.Backends.Cuda;
using HeteroBatch.Engine.Backends.OpenVino;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends;

/// <summary>
/// Maps <see cref="ComputeUnit.Backend"/> names to backends and hands out sessions. <see cref="OpenSession"/>
/// returns the process-wide shared session of (model, unit, options) from <see cref="Cache"/>;
/// <see cref="CreateSession"/> opens a private one the caller disposes.
/// </summary>
public sealed class BackendRegistry
{
    private readonly Dictionary<string, IInferenceBackend> _backends;

    public BackendRegistry(IEnumerable<IInferenceBackend> backends, SessionCache? cache = null)
    {
        _backends = backends.ToDictionary(b => b.Name, StringComparer.OrdinalIgnoreCase);
        Cache = cache ?? new SessionCache();
    }

    /// <summary>ONNX Runtime CPU, ONNX Runtime CUDA and the OpenVINO seam, over <see cref="SessionCache.Shared"/>.</summary>
    public static BackendRegistry Default { get; } = new(
        new IInferenceBackend[] { new OrtCpuBackend(), new OrtCudaBackend(), new OpenVinoBackend() },
        SessionCache.Shared);

    public SessionCache Cache { get; }

    public IReadOnlyCollection<IInferenceBackend> Backends => _backends.Values;

    /// <summary>The backend named by the unit. Throws BackendNotFound when this build has none of that name.</summary>
    public IInferenceBackend For(ComputeUnit unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        if (_backends.TryGetValue(unit.Backend, out var backend) && backend.Supports(unit)) return backend;
        throw new HeteroBatchException(BackendErrorIds.BackendNotFound, ErrorKind.NotInstalled,
            $"No backend '{unit.Backend}' for unit {unit.Id} in this build. Backends present: {string.Join(", ", _backends.Keys)}.",
            unit.Id);
    }

    /// <summary>
    /// The shared session of <paramref name="model"/> on <paramref name="unit"/> (loaded once per process).
    /// Do not dispose it (doing so is harmless); runs on it are serialised.
    /// </summary>
    public IInferenceSession OpenSession(ModelInfo model, ComputeUnit unit, BackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var backend = For(unit);
        var effective = options ?? BackendOptions.Default;
        return Cache.GetOrCreate(model, unit, effective, () => backend.CreateSession(model, unit, effective));
    }

    /// <summary>A private session the caller owns and disposes (not cached).</summary>
    public IInferenceSession CreateSession(ModelInfo model, ComputeUnit unit, BackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return For(unit).CreateSession(model, unit, options ?? BackendOptions.Default);
    }
}
