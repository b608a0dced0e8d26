using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units.Cuda;
using HeteroBatch.Engine.Units.OpenVino;

namespace HeteroBatch.Engine.Units;

/// <summary>
/// The compute units of a machine, found by a set of <see cref="IComputeUnitProvider"/>s. The list is
/// computed once and cached (probing drivers costs tens of milliseconds); <see cref="Discover(bool)"/>
/// with refresh re-probes.
/// </summary>
public sealed class ComputeUnitCatalog
{
    private readonly IReadOnlyList<IComputeUnitProvider> _providers;
    private readonly object _gate = new();
    private IReadOnlyList<ComputeUnit>? _cached;
    private IReadOnlyList<string> _probeFailures = Array.Empty<string>();

    public ComputeUnitCatalog(IEnumerable<IComputeUnitProvider> providers)
    {
        _providers = providers.ToArray();
    }

    /// <summary>The providers of a real machine: CPU, NVIDIA GPUs (CUDA driver), OpenVINO.</summary>
    public static ComputeUnitCatalog CreateDefault() => new(new IComputeUnitProvider[]
    {
        new CpuUnitProvider(),
        new CudaUnitProvider(),
        new OpenVinoUnitProvider(),
    });

    public IReadOnlyList<ComputeUnit> Discover(bool refresh = false)
    {
        lock (_gate)
        {
            if (_cached is null || refresh) _cached = Probe();
            return _cached;
        }
    }

    /// <summary>Providers that broke in the last probe, each as a sentence ("CUDA discovery failed: ..."): their units are
    /// missing from <see cref="Discover(bool)"/>. Callers tell the user (the engine writes nowhere itself).</summary>
    public IReadOnlyList<string> ProbeFailures
    {
        get { lock (_gate) return _probeFailures; }
    }

    public IReadOnlyList<ComputeUnit> Discover(ComputeUnitKind kind, bool refresh = false) =>
        Discover(refresh).Where(u => u.Kind == kind).ToArray();

    /// <summary>The unit with this id (case-insensitive). Throws UnitNotFound naming the ids present.</summary>
    public ComputeUnit Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var local = LocalId(id);
        var units = Discover();
        var unit = units.FirstOrDefault(u => string.Equals(u.Id, local, StringComparison.OrdinalIgnoreCase));
        if (unit is not null) return unit;
        var present = units.Count == 0 ? "(none)" : string.Join(", ", units.Select(u => u.Id));
        throw new HeteroBatchException(UnitErrorIds.UnitNotFound, ErrorKind.ObjectNotFound,
            $"No compute unit '{id}' on {Environment.MachineName}. Units present: {present}. Run Get-ComputeUnit to list them.",
            id);
    }

    /// <summary>
    /// The id on this machine of <paramref name="id"/>: a plain id as it is, <c>thismachine/gpu0</c> (or
    /// <c>localhost/gpu0</c>) as <c>gpu0</c>. An id naming another machine throws <c>UnknownMachine</c>: that unit
    /// is reached through a remote session, not found here. Throws <c>InvalidUnitId</c> for a malformed id.
    /// </summary>
    public static string LocalId(string id)
    {
        var address = UnitAddress.Parse(id);
        if (!address.HasMachine || UnitAddress.IsThisMachine(address.MachineName)) return address.Unit;
        throw new HeteroBatchException(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
            $"Unit '{id}' is on machine '{address.MachineName}', not on this one ({Environment.MachineName}). " +
            "Reach other machines through remoting: pass -Session (or -HostName) with a session to that machine.", id);
    }

    private IReadOnlyList<ComputeUnit> Probe()
    {
        var units = new List<ComputeUnit>();
        var failures = new List<string>();
        foreach (var provider in _providers)
        {
            // A provider that breaks must not hide the others (the CPU always works).
            try { units.AddRange(provider.Discover()); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures.Add($"{provider.Family} discovery failed: {ex.Message}");
            }
        }
        _probeFailures = failures.AsReadOnly();
        return units.AsReadOnly();
    }
}
