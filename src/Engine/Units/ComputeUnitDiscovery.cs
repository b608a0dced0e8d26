using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units.Cuda;
using HeteroBatch.Engine.Units.OpenVino;

namespace HeteroBatch.Engine.Units;

/// <summary>Process-wide entry point to the compute units of this machine (cached).</summary>
public static class ComputeUnitDiscovery
{
    private static ComputeUnitCatalog _catalog = ComputeUnitCatalog.CreateDefault();

    /// <summary>The catalog behind the static methods; replaceable for hosts that add providers.</summary>
    public static ComputeUnitCatalog Catalog
    {
        get => Volatile.Read(ref _catalog);
        set => Volatile.Write(ref _catalog, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>All units (available or not), CPU first. Cached; pass refresh to re-probe.</summary>
    public static IReadOnlyList<ComputeUnit> Discover(bool refresh = false) => Catalog.Discover(refresh);

    public static IReadOnlyList<ComputeUnit> Discover(ComputeUnitKind kind, bool refresh = false) => Catalog.Discover(kind, refresh);

    /// <summary>Providers that broke in the last probe (see <see cref="ComputeUnitCatalog.ProbeFailures"/>).</summary>
    public static IReadOnlyList<string> ProbeFailures => Catalog.ProbeFailures;

    /// <summary>The unit with this id; throws HeteroBatchException "UnitNotFound" listing the ids present.</summary>
    public static ComputeUnit Find(string id) => Catalog.Find(id);
}
