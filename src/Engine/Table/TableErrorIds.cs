namespace HeteroBatch.Engine.Table;

/// <summary>Stable ErrorIds of the performance table.</summary>
public static class TableErrorIds
{
    /// <summary>Backend options (part of a row's key) are malformed: a setting without '=' or a bad thread count.</summary>
    public const string InvalidBackendOptions = "InvalidBackendOptions";
    /// <summary>The table file cannot be read.</summary>
    public const string PerfTableReadFailed = "PerfTableReadFailed";
    /// <summary>The table file cannot be written.</summary>
    public const string PerfTableWriteFailed = "PerfTableWriteFailed";
    /// <summary>The table file is not a valid table.</summary>
    public const string PerfTableCorrupt = "PerfTableCorrupt";
    /// <summary>The table file was written by a newer format.</summary>
    public const string PerfTableVersionUnsupported = "PerfTableVersionUnsupported";
    /// <summary>Another writer holds the table's lock for too long.</summary>
    public const string PerfTableLocked = "PerfTableLocked";
    /// <summary>The table path is not usable (empty, a folder).</summary>
    public const string InvalidPerfTablePath = "InvalidPerfTablePath";
    /// <summary>A row is invalid (batch size, times, names).</summary>
    public const string InvalidPerfEntry = "InvalidPerfEntry";
    /// <summary>A one-row edit matches several rows.</summary>
    public const string PerfEntryAmbiguous = "PerfEntryAmbiguous";
    /// <summary>The history limit is not ≥ 0.</summary>
    public const string InvalidHistoryLimit = "InvalidHistoryLimit";
    /// <summary>The fold weight is not in (0, 1].</summary>
    public const string InvalidFoldWeight = "InvalidFoldWeight";
}
