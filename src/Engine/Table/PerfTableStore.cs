using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Table;

/// <summary>A one-row edit (Set-PerfTable with -Model, -Unit, -BatchSize and the numbers): one unit at one batch size of one model.</summary>
public sealed record PerfEntryEdit
{
    /// <summary>Model name or hash (prefix of 8+ hex digits allowed) of the row to edit; the name of a new row.</summary>
    public required string Model { get; init; }
    public required string Unit { get; init; }
    public required int BatchSize { get; init; }
    public required double ExecMs { get; init; }
    /// <summary>New I/O time; null keeps the row's (0 for a new row).</summary>
    public double? IoMs { get; init; }
    public string MachineName { get; init; } = Environment.MachineName;
    /// <summary>Narrow the edit to one backend / options / device when the model has several rows for the unit; also set on a new row.</summary>
    public string? Backend { get; init; }
    public string? BackendOptions { get; init; }
    public string? DeviceName { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    /// <summary>New session-open cost (see <see cref="PerfEntry.OpenMs"/>); null keeps the row's (unknown for a new row).</summary>
    public double? OpenMs { get; init; }
    /// <summary>New warm-up cost of the size (see <see cref="PerfEntry.WarmUpMs"/>); null keeps the row's.</summary>
    public double? WarmUpMs { get; init; }
}

/// <summary>
/// The performance table file: a versioned, indented JSON document holding the rows of any number of
/// machines. Reads need no lock (writes replace the file atomically); every write is a read-merge-write
/// under a cross-process lock, written to a temp file in the same folder, flushed to disk and renamed
/// over the table, so concurrent writers lose nothing and a crash never leaves a half-written table.
/// </summary>
public sealed class PerfTableStore
{
    public const int CurrentSchemaVersion = 1;
    public const int DefaultHistoryLimit = 10;
    /// <summary>Environment variable that overrides the default table path.</summary>
    public const string PathEnvironmentVariable = "HETEROBATCH_PERFTABLE";

    /// <summary>Opens the table at <paramref name="path"/> (made absolute), or the default table when null or empty.</summary>
    public PerfTableStore(string? path = null)
    {
        Path = System.IO.Path.GetFullPath(string.IsNullOrWhiteSpace(path) ? ResolveDefaultPath() : path);
        if (Directory.Exists(Path))
            throw new HeteroBatchException(TableErrorIds.InvalidPerfTablePath, ErrorKind.InvalidArgument,
                $"'{Path}' is a folder; give the path of the table file, e.g. '{System.IO.Path.Combine(Path, "perftable.json")}'.", Path);
    }

    /// <summary>Absolute path of the table file.</summary>
    public string Path { get; }
    /// <summary>The lock file serialising writers: <c>&lt;table&gt;.lock</c>.</summary>
    public string LockPath => Path + ".lock";
    /// <summary>How long a writer waits for the lock before failing with <c>PerfTableLocked</c>.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public bool Exists => File.Exists(Path);

    /// <summary>
    /// The default table: <c>$HETEROBATCH_PERFTABLE</c> if set; else on Windows
    /// <c>%LOCALAPPDATA%\HeteroBatch\perftable.json</c>; elsewhere <c>$XDG_DATA_HOME</c> (or
    /// <c>~/.local/share</c>) + <c>/HeteroBatch/perftable.json</c>.
    /// <paramref name="getEnvironmentVariable"/> reads the variables (default: this process's environment),
    /// so callers and tests can resolve against an environment of their own without changing the process's.
    /// </summary>
    public static string ResolveDefaultPath(Func<string, string?>? getEnvironmentVariable = null)
    {
        var env = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        var overridePath = env(PathEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(overridePath)) return System.IO.Path.GetFullPath(overridePath);

        string dataRoot;
        if (OperatingSystem.IsWindows())
        {
            dataRoot = env("LOCALAPPDATA") is { Length: > 0 } local
                ? local
                : Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        }
        else
        {
            var xdg = env("XDG_DATA_HOME");
            // The XDG spec says a relative value is invalid and must be ignored.
            dataRoot = !string.IsNullOrWhiteSpace(xdg) && System.IO.Path.IsPathRooted(xdg)
                ? xdg
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        }
        return System.IO.Path.Combine(dataRoot, "HeteroBatch", "perftable.json");
    }

    /// <summary>
    /// Reads the table; a missing file is an empty table. Throws <c>PerfTableCorrupt</c> (InvalidData)
    /// when the file does not parse or holds an invalid row, <c>PerfTableVersionUnsupported</c> when a newer
    /// HeteroBatch wrote it, <c>PerfTableReadFailed</c> when it cannot be read.
    /// </summary>
    public PerfTable Read()
    {
        // An unchanged file (same length and write time) gives the table parsed last time: a service that runs
        // call after call plans without parsing the JSON again. Writes replace the file, so its stamp changes.
        var info = new FileInfo(Path);
        if (info.Exists && ReadCache.TryGetValue(Path, out var cached) && cached.Length == info.Length && cached.WriteUtc == info.LastWriteTimeUtc)
            return cached.Table;
        var state = Load();
        var table = new PerfTable(state.Sorted(), state.HistoryLimit, Path);
        if (info.Exists) ReadCache[Path] = (info.Length, info.LastWriteTimeUtc, table);
        return table;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Length, DateTime WriteUtc, PerfTable Table)> ReadCache = new();

    /// <summary>
    /// Merges rows into the table under the lock. A row with a new key is added; a newer measurement of an
    /// existing key replaces it and pushes the old numbers onto its history (at most
    /// <paramref name="historyLimit"/>, default the table's limit; 0 keeps none); an identical or older one
    /// changes nothing (a row whose numbers differ is listed in <see cref="PerfMergeResult.Older"/>). A timestamp cut to
    /// whole seconds (Export-Csv) matches the stored row's exact time, so an edited CSV row replaces the row.
    /// All rows are validated first (<c>InvalidPerfEntry</c>); nothing is written if one fails.
    /// </summary>
    public PerfMergeResult Merge(IEnumerable<PerfEntry> entries, int? historyLimit = null, CancellationToken cancellationToken = default)
    {
        var incoming = ValidateAll(entries);
        CheckHistoryLimit(historyLimit);
        return Update(state =>
        {
            int limit = historyLimit ?? state.HistoryLimit;
            int added = 0, replaced = 0, unchanged = 0;
            var touched = new Dictionary<PerfKey, PerfEntry>();
            var older = new List<PerfEntry>();
            foreach (var incomingEntry in incoming)
            {
                var entry = incomingEntry;
                var key = PerfKey.Of(entry);
                state.Rows.TryGetValue(key, out var existing);
                if (existing is not null)
                {
                    // A CSV round trip cuts timestamps to whole seconds: that is still the stored row's time.
                    entry = PerfTableMerge.WithStoredTimestamp(existing, entry);
                    if (PerfTableMerge.IsOlderWithOtherNumbers(existing, entry)) older.Add(entry);
                }
                var (row, outcome) = PerfTableMerge.MergeRow(existing, entry, limit);
                switch (outcome)
                {
                    case MergeOutcome.Added: added++; break;
                    case MergeOutcome.Replaced: replaced++; break;
                    default: unchanged++; break;
                }
                if (outcome != MergeOutcome.Unchanged)
                {
                    state.Rows[key] = row;
                    touched[key] = row;
                }
            }
            var result = new PerfMergeResult { Added = added, Replaced = replaced, Unchanged = unchanged, Older = older, Entries = touched.Values.ToArray(), Path = Path };
            return (result, touched.Count > 0);
        }, cancellationToken);
    }

    /// <summary>Removes the rows <paramref name="predicate"/> selects; returns them (empty when none, and then nothing is written).</summary>
    public IReadOnlyList<PerfEntry> Remove(Func<PerfEntry, bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        if (!File.Exists(Path)) return Array.Empty<PerfEntry>();
        return Update(state =>
        {
            var doomed = state.Rows.Where(kv => predicate(kv.Value)).ToArray();
            foreach (var kv in doomed) state.Rows.Remove(kv.Key);
            IReadOnlyList<PerfEntry> removed = doomed.Select(kv => kv.Value).ToArray();
            return (removed, removed.Count > 0);
        }, cancellationToken);
    }

    /// <summary>Removes the rows matching <paramref name="filter"/> (model and/or unit, machine, batch size...).</summary>
    public IReadOnlyList<PerfEntry> Remove(PerfFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return Remove(filter.Matches, cancellationToken);
    }

    /// <summary>
    /// Sets one row's numbers (a merge of one row). The row is found by model (name or hash), unit, machine
    /// and batch size, narrowed by backend/options/device when given; its key is kept and its old numbers
    /// go to history. With no such row a new one is added under the model name. Several candidates →
    /// <c>PerfEntryAmbiguous</c>: give Backend or BackendOptions.
    /// </summary>
    public PerfMergeResult SetEntry(PerfEntryEdit edit, int? historyLimit = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(edit);
        CheckHistoryLimit(historyLimit);
        var timestamp = edit.Timestamp ?? DateTimeOffset.UtcNow;
        // Validate the edit's own numbers before taking the lock.
        var fresh = PerfEntryValidation.Normalize(new PerfEntry
        {
            Model = edit.Model, Unit = edit.Unit, BatchSize = edit.BatchSize, ExecMs = edit.ExecMs, IoMs = edit.IoMs ?? 0,
            MachineName = edit.MachineName, Backend = edit.Backend ?? "", BackendOptions = edit.BackendOptions ?? "",
            DeviceName = edit.DeviceName ?? "", Timestamp = timestamp, Repeats = 1, OpenMs = edit.OpenMs, WarmUpMs = edit.WarmUpMs,
        }, "edit");
        var filter = new PerfFilter
        {
            Model = edit.Model, Unit = edit.Unit, MachineName = edit.MachineName, BatchSize = edit.BatchSize,
            Backend = edit.Backend, BackendOptions = edit.BackendOptions, DeviceName = edit.DeviceName,
        };

        return Update(state =>
        {
            int limit = historyLimit ?? state.HistoryLimit;
            var candidates = state.Rows.Where(kv => filter.Matches(kv.Value)).ToArray();
            if (candidates.Length > 1)
                throw new HeteroBatchException(TableErrorIds.PerfEntryAmbiguous, ErrorKind.InvalidArgument,
                    $"{candidates.Length} rows match model '{edit.Model}', unit '{edit.Unit}', machine '{edit.MachineName}', batch size {edit.BatchSize}: " +
                    string.Join("; ", candidates.Select(c => $"backend '{c.Value.Backend}' options '{c.Value.BackendOptions}' device '{c.Value.DeviceName}'")) +
                    ". Give the backend, backend options or device name of the row to edit.", edit);
            PerfEntry row;
            MergeOutcome outcome;
            if (candidates.Length == 0)
            {
                (row, outcome) = PerfTableMerge.MergeRow(null, fresh, limit);
                state.Rows[PerfKey.Of(row)] = row;
            }
            else
            {
                var (key, existing) = candidates[0];
                var updated = existing with
                {
                    ExecMs = fresh.ExecMs,
                    IoMs = edit.IoMs ?? existing.IoMs,
                    Status = PerfStatus.Ok,
                    Repeats = 1,
                    SpreadMs = 0,
                    OpenMs = edit.OpenMs ?? existing.OpenMs,
                    WarmUpMs = edit.WarmUpMs ?? existing.WarmUpMs,
                    Timestamp = timestamp > existing.Timestamp ? timestamp : existing.Timestamp.AddTicks(1),
                    History = Array.Empty<PerfSample>(),
                };
                (row, outcome) = PerfTableMerge.MergeRow(existing, updated, limit);
                state.Rows[key] = row;
            }
            var result = new PerfMergeResult
            {
                Added = outcome == MergeOutcome.Added ? 1 : 0,
                Replaced = outcome == MergeOutcome.Replaced ? 1 : 0,
                Unchanged = outcome == MergeOutcome.Unchanged ? 1 : 0,
                Entries = new[] { row },
                Path = Path,
            };
            return (result, outcome != MergeOutcome.Unchanged);
        }, cancellationToken);
    }

    /// <summary>
    /// Folds fresh measurements (e.g. of a real run, Invoke-HeteroInference -UpdatePerfTable) into the
    /// rows of the same key as an exponential moving average with <paramref name="weight"/> for the new
    /// value, pushing the old numbers onto history. A measurement whose row has no hash but the same model
    /// name (an imported row) folds into that row. With no row, the measurement is added.
    /// Counts: Added for new rows, Replaced for folded ones.
    /// </summary>
    public PerfMergeResult Fold(IEnumerable<PerfEntry> measurements, double weight = PerfTableMerge.DefaultFoldWeight,
        int? historyLimit = null, CancellationToken cancellationToken = default)
    {
        PerfTableMerge.CheckWeight(weight);
        CheckHistoryLimit(historyLimit);
        var incoming = ValidateAll(measurements);
        return Update(state =>
        {
            int limit = historyLimit ?? state.HistoryLimit;
            int added = 0, folded = 0;
            var touched = new Dictionary<PerfKey, PerfEntry>();
            foreach (var m in incoming)
            {
                var key = PerfKey.Of(m);
                if (!state.Rows.ContainsKey(key) && !string.IsNullOrEmpty(m.ModelHash))
                {
                    // An imported row knows the model only by name: fold into it rather than start a twin row.
                    var byName = PerfKey.Of(m with { ModelHash = "" });
                    if (state.Rows.ContainsKey(byName)) key = byName;
                }
                state.Rows.TryGetValue(key, out var existing);
                var row = PerfTableMerge.Fold(existing, m, weight, limit);
                if (existing is null) added++; else folded++;
                state.Rows[key] = row;
                touched[key] = row;
            }
            return (new PerfMergeResult { Added = added, Replaced = folded, Entries = touched.Values.ToArray(), Path = Path }, touched.Count > 0);
        }, cancellationToken);
    }

    /// <summary>Sets the table's stored history limit and trims every row's history to it.</summary>
    public void SetHistoryLimit(int historyLimit, CancellationToken cancellationToken = default)
    {
        CheckHistoryLimit(historyLimit);
        Update(state =>
        {
            bool changed = state.HistoryLimit != historyLimit || !File.Exists(Path);
            state.HistoryLimit = historyLimit;
            foreach (var (key, row) in state.Rows.ToArray())
            {
                if (row.History.Count <= historyLimit) continue;
                state.Rows[key] = row with { History = row.History.Take(historyLimit).ToArray() };
                changed = true;
            }
            return (0, changed);
        }, cancellationToken);
    }

    // ---- internals ----------------------------------------------------------------------------

    private sealed class State
    {
        public Dictionary<PerfKey, PerfEntry> Rows { get; } = new();
        public int HistoryLimit { get; set; } = DefaultHistoryLimit;

        public IEnumerable<PerfEntry> Sorted() => Rows.Values
            .OrderBy(e => e.MachineName, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.Model, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.ModelHash, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.Unit, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.DeviceName, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.Backend, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.BackendOptions, StringComparer.OrdinalIgnoreCase)
            .ThenBy(e => e.BatchSize);
    }

    private static void CheckHistoryLimit(int? historyLimit)
    {
        if (historyLimit is < 0)
            throw new HeteroBatchException(TableErrorIds.InvalidHistoryLimit, ErrorKind.InvalidArgument,
                $"The history limit must be 0 (keep no history) or more; got {historyLimit}.", historyLimit);
    }

    private static PerfEntry[] ValidateAll(IEnumerable<PerfEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new List<PerfEntry>();
        int index = 0;
        foreach (var e in entries)
        {
            index++;
            if (e is null)
                throw new HeteroBatchException(TableErrorIds.InvalidPerfEntry, ErrorKind.InvalidArgument, $"Perf-table entry {index} is null.", index);
            list.Add(PerfEntryValidation.Normalize(e, "row " + index.ToString(CultureInfo.InvariantCulture)));
        }
        return list.ToArray();
    }

    /// <summary>
    /// Fails at once with <c>PerfTableWriteFailed</c> (WriteError, naming the folder) when the table's location
    /// cannot be written: call it before long work whose results go to the table. Creates the folder and the
    /// lock file, as a write would; changes no row.
    /// </summary>
    public void CheckWritable()
    {
        CreateFolder();
        PerfTableLock.CheckWritable(LockPath);
    }

    private string CreateFolder()
    {
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        try { Directory.CreateDirectory(folder); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(TableErrorIds.PerfTableWriteFailed, ErrorKind.WriteError,
                $"Cannot create the folder '{folder}' for the perf table: {ex.Message} " +
                "Choose a writable location with -Path (or $env:HETEROBATCH_PERFTABLE).", folder, ex);
        }
        return folder;
    }

    /// <summary>Read-modify-write under the lock; writes only when <paramref name="mutate"/> reports a change.</summary>
    private T Update<T>(Func<State, (T Result, bool Changed)> mutate, CancellationToken cancellationToken)
    {
        var folder = CreateFolder();
        using var _ = PerfTableLock.Acquire(LockPath, LockTimeout, cancellationToken);
        RemoveAbandonedTempFiles(folder);
        var state = Load();
        var (result, changed) = mutate(state);
        if (changed) WriteAtomically(state, folder);
        return result;
    }

    private string TempFilePattern => System.IO.Path.GetFileName(Path) + ".*.tmp";

    /// <summary>Called under the lock: any temp file is then a leftover of a writer that died mid-write.</summary>
    private void RemoveAbandonedTempFiles(string folder)
    {
        try
        {
            foreach (var temp in Directory.EnumerateFiles(folder, TempFilePattern))
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private State Load()
    {
        byte[] bytes;
        try
        {
            // FileShare.Delete lets a writer on Windows rename over the file while we read it.
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            bytes = buffer.ToArray();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new State();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(TableErrorIds.PerfTableReadFailed, ErrorKind.ReadError,
                $"Cannot read the perf table '{Path}': {ex.Message} Check the file's permissions.", Path, ex);
        }

        PerfTableDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(bytes, PerfTableJsonContext.Default.PerfTableDocument);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException)
        {
            throw Corrupt(ex.Message, ex);
        }
        if (document is null) throw Corrupt("the document is 'null'.");
        if (document.SchemaVersion is not { } version) throw Corrupt("it has no 'schemaVersion'; it is not a HeteroBatch perf table.");
        if (version > CurrentSchemaVersion)
            throw new HeteroBatchException(TableErrorIds.PerfTableVersionUnsupported, ErrorKind.InvalidData,
                $"The perf table '{Path}' has schema version {version}, written by a newer HeteroBatch; this version reads up to {CurrentSchemaVersion}. " +
                "Update the HeteroBatch module, or use another table with -Path.", Path);
        if (version < 1) throw Corrupt($"schemaVersion {version} is not valid.");
        if (document.HistoryLimit is < 0) throw Corrupt($"historyLimit {document.HistoryLimit} is negative.");

        var state = new State { HistoryLimit = document.HistoryLimit ?? DefaultHistoryLimit };
        int index = 0;
        foreach (var row in document.Entries ?? new())
        {
            index++;
            if (row is null) throw Corrupt($"entry {index} is null.");
            PerfEntry entry;
            try
            {
                entry = PerfEntryValidation.Normalize(row.ToEntry(), "entry " + index.ToString(CultureInfo.InvariantCulture));
            }
            catch (HeteroBatchException ex)
            {
                throw Corrupt(ex.Message, ex);
            }
            // Two rows of one key (a hand edit) are merged as any measurement would be, so nothing is dropped.
            var key = PerfKey.Of(entry);
            state.Rows.TryGetValue(key, out var existing);
            state.Rows[key] = PerfTableMerge.MergeRow(existing, entry, state.HistoryLimit).Row;
        }
        return state;
    }

    private HeteroBatchException Corrupt(string detail, Exception? inner = null) =>
        new(TableErrorIds.PerfTableCorrupt, ErrorKind.InvalidData,
            $"The perf table '{Path}' is not valid: {detail} It was left as it is: fix it by hand, or move it away and profile again (Measure-BatchProfile).",
            Path, inner);

    private void WriteAtomically(State state, string folder)
    {
        var document = new PerfTableDocument
        {
            SchemaVersion = CurrentSchemaVersion,
            HistoryLimit = state.HistoryLimit,
            Entries = state.Sorted().Select(e => (PerfRowDocument?)PerfRowDocument.From(e)).ToList(),
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(document, PerfTableJsonContext.Default.PerfTableDocument);

        var temp = System.IO.Path.Combine(folder,
            $"{System.IO.Path.GetFileName(Path)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(json);
                stream.Write("\n"u8);
                stream.Flush(flushToDisk: true);
            }
            MoveOver(temp);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new HeteroBatchException(TableErrorIds.PerfTableWriteFailed, ErrorKind.WriteError,
                $"Cannot write the perf table '{Path}': {ex.Message} The table on disk is unchanged.", Path, ex);
        }
    }

    private void MoveOver(string temp)
    {
        // rename(2) on Unix is atomic. On Windows a reader without FILE_SHARE_DELETE (an editor) can
        // briefly block the replace, so retry a few times before giving up.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                File.Move(temp, Path, overwrite: true);
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && RuntimeInformation.IsOSPlatform(OSPlatform.Windows) && attempt < 20)
            {
                Thread.Sleep(25);
            }
        }
    }
}
