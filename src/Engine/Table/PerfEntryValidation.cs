using System.Globalization;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Table;

/// <summary>Checks and canonicalises rows before they enter a table.</summary>
public static class PerfEntryValidation
{
    /// <summary>Statuses a row may carry.</summary>
    public static IReadOnlyList<string> KnownStatuses { get; } = new[] { PerfStatus.Ok, PerfStatus.OutOfMemory, PerfStatus.TooSlow };

    /// <summary>
    /// Largest batch size a row may hold: 1,048,576 (2^20). The planner builds per-unit cost arrays as long as a
    /// unit's largest measured batch, so one mistyped or absurd row (10^8) would cost gigabytes; no real
    /// measurement comes near this bound.
    /// </summary>
    public const int MaxBatchSize = 1 << 20;

    /// <summary>
    /// Returns <paramref name="entry"/> with null text turned into empty text, the status spelled
    /// canonically and the backend options in canonical key form. Throws <c>InvalidPerfEntry</c>
    /// (InvalidArgument) naming the row (<paramref name="rowLabel"/>, e.g. "row 3") when it cannot be a table row.
    /// </summary>
    public static PerfEntry Normalize(PerfEntry entry, string? rowLabel = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string Describe() =>
            (rowLabel is null ? "" : rowLabel + " ") +
            $"(model '{entry.Model}', unit '{entry.Unit}', batch size {entry.BatchSize.ToString(CultureInfo.InvariantCulture)})";
        HeteroBatchException Invalid(string problem) =>
            new(TableErrorIds.InvalidPerfEntry, ErrorKind.InvalidArgument, $"Perf-table entry {Describe()} is invalid: {problem}", entry);

        if (string.IsNullOrWhiteSpace(entry.Model)) throw Invalid("the model name is empty. Give the model name (or its file name).");
        if (string.IsNullOrWhiteSpace(entry.Unit)) throw Invalid("the unit is empty. Give a unit id such as 'cpu' or 'gpu0'.");
        if (string.IsNullOrWhiteSpace(entry.MachineName)) throw Invalid("the machine name is empty. Give the machine the numbers were measured on.");
        if (entry.BatchSize <= 0) throw Invalid("the batch size must be 1 or more.");
        if (entry.BatchSize > MaxBatchSize)
            throw Invalid($"the batch size is above {MaxBatchSize.ToString("N0", CultureInfo.InvariantCulture)}, the largest a table row may hold. Correct the row (a typo?) or leave it out.");
        CheckTime(entry.ExecMs, "ExecMs");
        CheckTime(entry.IoMs, "IoMs");
        CheckTime(entry.HostToDeviceMs, "HostToDeviceMs");
        CheckTime(entry.DeviceToHostMs, "DeviceToHostMs");
        CheckTime(entry.SpreadMs, "SpreadMs");
        if (entry.OpenMs is { } open) CheckTime(open, "OpenMs");
        if (entry.WarmUpMs is { } warm) CheckTime(warm, "WarmUpMs");
        if (entry.Repeats < 0) throw Invalid("Repeats must not be negative.");

        var status = KnownStatuses.FirstOrDefault(s => string.Equals(s, (entry.Status ?? "").Trim(), StringComparison.OrdinalIgnoreCase));
        if (string.IsNullOrWhiteSpace(entry.Status)) status = PerfStatus.Ok;
        if (status is null) throw Invalid($"status '{entry.Status}' is not one of {string.Join(", ", KnownStatuses)}.");

        string options;
        try { options = Table.BackendOptions.Parse(entry.BackendOptions).Key; }
        catch (HeteroBatchException ex) { throw new HeteroBatchException(TableErrorIds.InvalidPerfEntry, ErrorKind.InvalidArgument, $"Perf-table entry {Describe()} is invalid: {ex.Message}", entry, ex); }

        var history = entry.History ?? Array.Empty<PerfSample>();
        foreach (var sample in history)
        {
            if (sample is null) throw Invalid("its history holds an empty sample.");
            if (!IsValidTime(sample.ExecMs) || !IsValidTime(sample.IoMs)) throw Invalid("its history holds a negative or NaN time.");
        }

        return entry with
        {
            Model = entry.Model.Trim(),
            ModelHash = (entry.ModelHash ?? "").Trim(),
            MachineName = entry.MachineName.Trim(),
            Unit = entry.Unit.Trim(),
            DeviceName = entry.DeviceName ?? "",
            Backend = entry.Backend ?? "",
            BackendOptions = options,
            Status = status,
            History = history.ToArray(),
        };

        void CheckTime(double value, string name)
        {
            if (!IsValidTime(value)) throw Invalid($"{name} is {value.ToString(CultureInfo.InvariantCulture)}; times must be finite and not negative.");
        }
    }

    internal static bool IsValidTime(double value) => double.IsFinite(value) && value >= 0;
}
