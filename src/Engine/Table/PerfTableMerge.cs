using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Table;

/// <summary>What merging one row did.</summary>
public enum MergeOutcome
{
    /// <summary>No row had the key: the row was added.</summary>
    Added,
    /// <summary>A newer measurement replaced the row; the old numbers went to its history.</summary>
    Replaced,
    /// <summary>The stored row was identical, or newer than the incoming one: nothing changed.</summary>
    Unchanged,
}

/// <summary>Counts of a merge, and the rows as stored after it for every added or replaced key.</summary>
public sealed record PerfMergeResult
{
    public int Added { get; init; }
    public int Replaced { get; init; }
    public int Unchanged { get; init; }
    /// <summary>
    /// Incoming rows not applied because the table holds a newer measurement of the same key with other numbers
    /// (e.g. an edit of an old export): the caller reports them. Counted in <see cref="Unchanged"/>.
    /// </summary>
    public IReadOnlyList<PerfEntry> Older { get; init; } = Array.Empty<PerfEntry>();
    /// <summary>Rows added or replaced, as now stored.</summary>
    public IReadOnlyList<PerfEntry> Entries { get; init; } = Array.Empty<PerfEntry>();
    /// <summary>The table file written (null for an in-memory merge).</summary>
    public string? Path { get; init; }
}

/// <summary>
/// The row arithmetic of the table, free of files so it can also merge tables in memory (e.g. rows
/// gathered from remote machines): newer-wins replacement with bounded history, and the smoothed fold.
/// </summary>
public static class PerfTableMerge
{
    /// <summary>Default weight of a new measurement in <see cref="Fold"/>.</summary>
    public const double DefaultFoldWeight = 0.25;

    /// <summary>
    /// Merges <paramref name="incoming"/> into the row <paramref name="existing"/> of the same key (null
    /// when none). A newer or same-time measurement with different numbers replaces the row and pushes the
    /// old numbers (and any history the incoming row brings) onto History, newest first, at most
    /// <paramref name="historyLimit"/> samples. An older one leaves the row unchanged.
    /// </summary>
    public static (PerfEntry Row, MergeOutcome Outcome) MergeRow(PerfEntry? existing, PerfEntry incoming, int historyLimit)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        ArgumentOutOfRangeException.ThrowIfNegative(historyLimit);
        if (existing is null) return (incoming with { History = Trim(incoming.History, historyLimit) }, MergeOutcome.Added);
        // A row that does not know the setup costs (an import from an older table, a profile on a session already
        // open) keeps the stored ones: they belong to the unit and model, not to this measurement of the steady time.
        incoming = incoming with { OpenMs = incoming.OpenMs ?? existing.OpenMs, WarmUpMs = incoming.WarmUpMs ?? existing.WarmUpMs };
        if (incoming.Timestamp < existing.Timestamp || SameMeasurement(existing, incoming)) return (existing, MergeOutcome.Unchanged);
        return (Supersede(existing, incoming, historyLimit), MergeOutcome.Replaced);
    }

    /// <summary>
    /// <paramref name="incoming"/> with the stored row's exact timestamp when its own is that timestamp cut to whole
    /// seconds or milliseconds, as Export-Csv and spreadsheets write it: a row exported and imported again then has the
    /// same time as the stored one, so an edited value replaces the row (same-time rule of <see cref="MergeRow"/>)
    /// and an unedited row stays unchanged.
    /// </summary>
    public static PerfEntry WithStoredTimestamp(PerfEntry existing, PerfEntry incoming)
    {
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentNullException.ThrowIfNull(incoming);
        var stored = existing.Timestamp;
        var given = incoming.Timestamp;
        if (given == stored || given > stored) return incoming;
        long precision = given.UtcTicks % TimeSpan.TicksPerSecond == 0 ? TimeSpan.TicksPerSecond
            : given.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? TimeSpan.TicksPerMillisecond : 0;
        if (precision == 0 || stored.UtcTicks - stored.UtcTicks % precision != given.UtcTicks) return incoming;
        return incoming with { Timestamp = stored };
    }

    /// <summary>True when <paramref name="incoming"/> is older than <paramref name="existing"/> and has other numbers or status.</summary>
    public static bool IsOlderWithOtherNumbers(PerfEntry existing, PerfEntry incoming) =>
        incoming.Timestamp < existing.Timestamp &&
        !(existing.ExecMs.Equals(incoming.ExecMs) && existing.IoMs.Equals(incoming.IoMs) &&
          string.Equals(existing.Status, incoming.Status, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Folds a fresh measurement into <paramref name="existing"/> as an exponential moving average:
    /// new = (1 − weight)·old + weight·measured for exec and I/O time; the old numbers go to History.
    /// <paramref name="weight"/> is in (0, 1]; 1 replaces outright. With no existing usable row (none, or
    /// one marked OutOfMemory/TooSlow) the measurement becomes the row. History keeps at most
    /// <paramref name="historyLimit"/> samples.
    /// </summary>
    public static PerfEntry Fold(PerfEntry? existing, PerfEntry measurement, double weight, int historyLimit)
    {
        ArgumentNullException.ThrowIfNull(measurement);
        ArgumentOutOfRangeException.ThrowIfNegative(historyLimit);
        CheckWeight(weight);
        if (existing is null) return measurement with { Status = PerfStatus.Ok, History = Array.Empty<PerfSample>() };
        if (!string.Equals(existing.Status, PerfStatus.Ok, StringComparison.OrdinalIgnoreCase))
            return Supersede(existing, measurement with
            {
                Status = PerfStatus.Ok, History = Array.Empty<PerfSample>(),
                OpenMs = measurement.OpenMs ?? existing.OpenMs, WarmUpMs = measurement.WarmUpMs ?? existing.WarmUpMs,
            }, historyLimit);

        var folded = existing with
        {
            Model = measurement.Model,
            ExecMs = (1 - weight) * existing.ExecMs + weight * measurement.ExecMs,
            IoMs = (1 - weight) * existing.IoMs + weight * measurement.IoMs,
            HostToDeviceMs = (1 - weight) * existing.HostToDeviceMs + weight * measurement.HostToDeviceMs,
            DeviceToHostMs = (1 - weight) * existing.DeviceToHostMs + weight * measurement.DeviceToHostMs,
            Repeats = existing.Repeats + Math.Max(1, measurement.Repeats),
            Timestamp = measurement.Timestamp > existing.Timestamp ? measurement.Timestamp : existing.Timestamp,
            History = Array.Empty<PerfSample>(),
        };
        return Supersede(existing, folded, historyLimit);
    }

    internal static void CheckWeight(double weight)
    {
        if (!(weight > 0 && weight <= 1))
            throw new HeteroBatchException(TableErrorIds.InvalidFoldWeight, ErrorKind.InvalidArgument,
                $"The smoothing weight must be above 0 and at most 1 (got {weight}); 0.25 gives a new measurement a quarter of the say.", weight);
    }

    /// <summary><paramref name="next"/> with <paramref name="previous"/>'s numbers pushed onto its history.</summary>
    private static PerfEntry Supersede(PerfEntry previous, PerfEntry next, int historyLimit)
    {
        // An OutOfMemory row carries no time (0 ms), so it would read as a fake sample in the history.
        bool previousHasTime = !string.Equals(previous.Status, PerfStatus.OutOfMemory, StringComparison.OrdinalIgnoreCase);
        var samples = (next.History ?? Array.Empty<PerfSample>())
            .Concat(previousHasTime ? new[] { new PerfSample(previous.ExecMs, previous.IoMs, previous.Timestamp) } : Array.Empty<PerfSample>())
            .Concat(previous.History ?? Array.Empty<PerfSample>());
        return next with { History = Trim(samples, historyLimit) };
    }

    private static PerfSample[] Trim(IEnumerable<PerfSample>? samples, int limit)
    {
        if (samples is null || limit == 0) return Array.Empty<PerfSample>();
        return samples
            .Where(s => s is not null)
            .Distinct()
            .OrderByDescending(s => s.Timestamp)
            .Take(limit)
            .ToArray();
    }

    private static bool SameMeasurement(PerfEntry a, PerfEntry b) =>
        a.ExecMs.Equals(b.ExecMs) && a.IoMs.Equals(b.IoMs) && a.Repeats == b.Repeats && a.SpreadMs.Equals(b.SpreadMs) &&
        Nullable.Equals(a.OpenMs, b.OpenMs) && Nullable.Equals(a.WarmUpMs, b.WarmUpMs) &&
        string.Equals(a.Status, b.Status, StringComparison.OrdinalIgnoreCase) && a.Timestamp == b.Timestamp &&
        string.Equals(a.Model, b.Model, StringComparison.Ordinal);
}
