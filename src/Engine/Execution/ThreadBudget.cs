using System.Globalization;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Execution;

/// <summary>
/// Thread budgets for a heterogeneous run. Every GPU (or other accelerator) unit in use keeps one logical core
/// for the thread that feeds it; the CPU gets the rest as intra-op threads (at least one). Spinning is off:
/// that is the CPU backend's default (its <c>allow_spinning</c> setting), so idle CPU threads do not burn the
/// cores the feeders need, and it is left out of the options so their key (and the perf table's) stays short. The CPU may also be split into slices
/// (<c>cpu:0</c>, <c>cpu:1</c>, ...) that run as separate units, each with its own share of the budget: useful
/// for tests and for machines where two half-width CPU sessions beat one wide one.
/// </summary>
public static class ThreadBudget
{
    /// <summary>Separator between a CPU unit's id and its slice number (<c>cpu:0</c>).</summary>
    public const char SliceSeparator = ':';

    /// <summary>Intra-op threads for all CPU work: logical cores − one per non-CPU unit in <paramref name="units"/>, at least 1.</summary>
    public static int CpuThreads(IReadOnlyList<ComputeUnit> units, int? logicalCores = null)
    {
        int cores = logicalCores ?? Environment.ProcessorCount;
        int feeders = units.Count(u => u.Kind != ComputeUnitKind.Cpu);
        return Math.Max(1, cores - feeders);
    }

    /// <summary>
    /// Backend options for each unit of a run, keyed by unit id: CPU units get their thread budget (the CPU budget
    /// divided among the CPU units given, at least 1 each); other units get <paramref name="baseOptions"/>
    /// unchanged. The same options must be used to profile and to run, since the perf table keys on them.
    /// </summary>
    public static IReadOnlyDictionary<string, BackendOptions> OptionsFor(IReadOnlyList<ComputeUnit> units, BackendOptions? baseOptions = null, int? logicalCores = null)
    {
        baseOptions ??= BackendOptions.Default;
        var cpus = units.Where(u => u.Kind == ComputeUnitKind.Cpu).ToList();
        int budget = CpuThreads(units, logicalCores);
        int perCpuUnit = cpus.Count == 0 ? budget : Math.Max(1, budget / cpus.Count);
        var result = new Dictionary<string, BackendOptions>(StringComparer.Ordinal);
        foreach (var u in units)
        {
            if (u.Kind != ComputeUnitKind.Cpu) { result[u.Id] = baseOptions; continue; }
            // An explicit thread count (the user's, or a slice's own) wins over the computed share.
            // A slice keeps its own (smaller) thread count, never more than its share once GPU feeders have theirs.
            int threads = baseOptions.IntraOpThreads > 0 ? baseOptions.IntraOpThreads
                : IsSlice(u) && u.LogicalCores is > 0 ? Math.Min(u.LogicalCores.Value, perCpuUnit)
                : perCpuUnit;
            result[u.Id] = baseOptions with { IntraOpThreads = threads };
        }
        return result;
    }

    /// <summary>
    /// Splits a CPU unit into <paramref name="slices"/> units <c>cpu:0</c>..<c>cpu:k-1</c>, each owning
    /// <paramref name="threadsPerSlice"/> intra-op threads (default: the CPU's logical cores divided evenly, at least 1),
    /// recorded in <see cref="ComputeUnit.LogicalCores"/>. Throws <c>InvalidArgument</c>-kind <c>InvalidCpuSlices</c>.
    /// </summary>
    public static IReadOnlyList<ComputeUnit> SplitCpu(ComputeUnit cpu, int slices, int? threadsPerSlice = null)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        if (cpu.Kind != ComputeUnitKind.Cpu || IsSlice(cpu))
            throw new HeteroBatchException(ExecutionErrorIds.InvalidCpuSlices, ErrorKind.InvalidArgument, $"Only a whole CPU unit can be split; '{cpu.Id}' is not one.", cpu.Id);
        if (slices < 1 || slices > 256)
            throw new HeteroBatchException(ExecutionErrorIds.InvalidCpuSlices, ErrorKind.InvalidArgument, $"A CPU can be split into 1 to 256 slices, not {slices}.", slices);
        int cores = cpu.LogicalCores ?? Environment.ProcessorCount;
        int threads = threadsPerSlice ?? Math.Max(1, cores / slices);
        if (threads < 1)
            throw new HeteroBatchException(ExecutionErrorIds.InvalidCpuSlices, ErrorKind.InvalidArgument, $"A CPU slice needs at least one thread, not {threads}.", threads);
        return Enumerable.Range(0, slices)
            .Select(i => cpu with
            {
                Id = cpu.Id + SliceSeparator + i.ToString(CultureInfo.InvariantCulture),
                Name = cpu.Name,
                LogicalCores = threads,
                PhysicalCores = null,
            })
            .ToArray();
    }

    /// <summary>True for a CPU slice id such as <c>cpu:1</c>.</summary>
    public static bool IsSlice(ComputeUnit unit) =>
        unit.Kind == ComputeUnitKind.Cpu && TryParseSlice(unit.Id, out _, out _);

    /// <summary>Splits <c>cpu:1</c> into (<c>cpu</c>, 1).</summary>
    public static bool TryParseSlice(string id, out string baseId, out int slice)
    {
        baseId = id; slice = -1;
        int at = id.LastIndexOf(SliceSeparator);
        if (at <= 0 || at == id.Length - 1) return false;
        if (!int.TryParse(id.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out slice)) return false;
        baseId = id[..at];
        return true;
    }
}
