using System.Text.Json;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Table;

public class PerfTableStoreTests
{
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    internal static PerfEntry Row(string unit, int batch, double exec, double io = 0.5, DateTimeOffset? at = null,
        string model = "tinynet", string hash = "abc123def4567890", string machine = "node-a", string options = "") => new()
    {
        Model = model,
        ModelHash = hash,
        MachineName = machine,
        Unit = unit,
        DeviceName = unit == "cpu" ? "Test CPU" : "Test GPU",
        Backend = unit == "cpu" ? "OnnxRuntime-CPU" : "OnnxRuntime-CUDA",
        BackendOptions = options,
        BatchSize = batch,
        ExecMs = exec,
        IoMs = io,
        Repeats = 5,
        SpreadMs = 0.25,
        Timestamp = at ?? T0,
    };

    [Fact]
    public void SetupCostsRoundTripAndAnOldTableWithoutThemLoadsWithThemUnknown()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[]
        {
            Row("gpu0", 1, 2.0) with { OpenMs = 1234.5, WarmUpMs = 0 },
            Row("gpu0", 8, 5.0) with { OpenMs = 1234.5, WarmUpMs = 1.0 / 3.0 },
            Row("cpu", 1, 3.0),
        });
        var read = new PerfTableStore(dir.File("t.json")).Read();
        Assert.Equal(1234.5, read.Single(r => r.Unit == "gpu0" && r.BatchSize == 8).OpenMs);
        Assert.Equal(1.0 / 3.0, read.Single(r => r.Unit == "gpu0" && r.BatchSize == 8).WarmUpMs);
        Assert.Equal(0, read.Single(r => r.Unit == "gpu0" && r.BatchSize == 1).WarmUpMs);
        var cpu = read.Single(r => r.Unit == "cpu");
        Assert.Null(cpu.OpenMs);
        Assert.Null(cpu.WarmUpMs);
        // Unknown is left out of the file, so a table without setup costs is written as before.
        var text = File.ReadAllText(dir.File("t.json"));
        Assert.Equal(2, text.Split("\"openMs\"").Length - 1);

        // A table written before the fields existed.
        File.WriteAllText(dir.File("old.json"), """
            { "schemaVersion": 1, "historyLimit": 10, "entries": [
              { "model": "tinynet", "modelHash": "abc", "machineName": "node-a", "unit": "cpu", "batchSize": 4, "execMs": 1.5, "ioMs": 0,
                "repeats": 5, "spreadMs": 0, "status": "Ok", "timestamp": "2024-05-01T12:00:00+00:00", "history": [] } ] }
            """);
        var old = Assert.Single(new PerfTableStore(dir.File("old.json")).Read());
        Assert.Null(old.OpenMs);
        Assert.Null(old.WarmUpMs);
        Assert.Equal(1.5, old.ExecMs);
    }

    [Fact]
    public void A_newer_row_without_setup_costs_keeps_the_stored_ones_and_bad_ones_are_rejected()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { Row("gpu0", 8, 5.0) with { OpenMs = 900, WarmUpMs = 40 } });
        store.Merge(new[] { Row("gpu0", 8, 4.0, at: T0.AddHours(1)) });
        var row = Assert.Single(store.Read());
        Assert.Equal(4.0, row.ExecMs);
        Assert.Equal(900, row.OpenMs);
        Assert.Equal(40, row.WarmUpMs);
        // A same-time row that differs only in its setup cost replaces the stored one (an edited export).
        store.Merge(new[] { row with { OpenMs = 5, History = Array.Empty<PerfSample>() } });
        Assert.Equal(5, Assert.Single(store.Read()).OpenMs);
        // Folding a run's times keeps them too.
        store.Fold(new[] { Row("gpu0", 8, 2.0, at: T0.AddHours(2)) }, 0.5);
        Assert.Equal(5, Assert.Single(store.Read()).OpenMs);

        var bad = Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { Row("cpu", 1, 1.0) with { OpenMs = -1 } }));
        Assert.Equal(TableErrorIds.InvalidPerfEntry, bad.ErrorId);
        Assert.Contains("OpenMs", bad.Message);
        Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { Row("cpu", 1, 1.0) with { WarmUpMs = double.NaN } }));
    }

    [Fact]
    public void RoundTripKeepsEveryFieldAndExactDoubles()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        var awkward = new[] { 0.1 + 0.2, 1.0 / 3.0, 1e-300, 123456789.123456789, double.Epsilon };
        var rows = awkward.Select((v, i) => Row("cpu", i + 1, v, io: v / 7, at: T0.AddMinutes(i)) with
        {
            History = new[] { new PerfSample(v * 2, 0.125, T0.AddDays(-1)) },
            Status = i == 4 ? PerfStatus.TooSlow : PerfStatus.Ok,
            BackendOptions = "threads=2",
            HostToDeviceMs = v / 11,
            DeviceToHostMs = v / 13,
        }).ToArray();

        var result = store.Merge(rows);
        Assert.Equal(5, result.Added);

        var read = new PerfTableStore(dir.File("t.json")).Read();
        Assert.Equal(5, read.Count);
        Assert.Equal(PerfTableStore.DefaultHistoryLimit, read.HistoryLimit);
        foreach (var expected in rows)
        {
            var actual = Assert.Single(read, r => r.BatchSize == expected.BatchSize);
            Assert.Equal(expected.ExecMs, actual.ExecMs);   // bit-exact, not approximately
            Assert.Equal(expected.IoMs, actual.IoMs);
            Assert.Equal(expected.HostToDeviceMs, actual.HostToDeviceMs);
            Assert.Equal(expected.DeviceToHostMs, actual.DeviceToHostMs);
            Assert.Equal(expected.Model, actual.Model);
            Assert.Equal(expected.ModelHash, actual.ModelHash);
            Assert.Equal(expected.MachineName, actual.MachineName);
            Assert.Equal(expected.DeviceName, actual.DeviceName);
            Assert.Equal(expected.Backend, actual.Backend);
            Assert.Equal("threads=2", actual.BackendOptions);
            Assert.Equal(expected.Repeats, actual.Repeats);
            Assert.Equal(expected.SpreadMs, actual.SpreadMs);
            Assert.Equal(expected.Status, actual.Status);
            Assert.Equal(expected.Timestamp, actual.Timestamp);
            Assert.Equal(expected.History, actual.History);
        }

        // Human readable and versioned.
        var text = File.ReadAllText(store.Path);
        Assert.Contains("\"schemaVersion\": 1", text);
        Assert.Contains("\n  \"entries\": [", text);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal(10, doc.RootElement.GetProperty("historyLimit").GetInt32());
    }

    [Fact]
    public void MissingFileReadsAsEmptyTable()
    {
        using var dir = new TempFolder();
        var table = new PerfTableStore(dir.File("sub/none.json")).Read();
        Assert.Empty(table);
        Assert.False(File.Exists(dir.File("sub/none.json")));
    }

    [Fact]
    public void NewerMeasurementReplacesRowAndHistoryIsBounded()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        for (int i = 0; i < 6; i++)
        {
            var r = store.Merge(new[] { Row("gpu0", 8, exec: 10 + i, at: T0.AddHours(i)) }, historyLimit: 3);
            Assert.Equal(i == 0 ? 1 : 0, r.Added);
            Assert.Equal(i == 0 ? 0 : 1, r.Replaced);
        }
        var row = Assert.Single(store.Read());
        Assert.Equal(15, row.ExecMs);
        Assert.Equal(new double[] { 14, 13, 12 }, row.History.Select(h => h.ExecMs));
        Assert.Equal(T0.AddHours(4), row.History[0].Timestamp);

        // An older measurement or an identical one changes nothing.
        var stale = store.Merge(new[] { Row("gpu0", 8, exec: 99, at: T0.AddHours(-1)), row with { History = Array.Empty<PerfSample>() } });
        Assert.Equal(2, stale.Unchanged);
        Assert.Equal(15, Assert.Single(store.Read()).ExecMs);
    }

    [Fact]
    public void HistoryLimitComesFromTableAndZeroDisablesHistory()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.SetHistoryLimit(0);
        store.Merge(new[] { Row("cpu", 1, 1, at: T0) });
        store.Merge(new[] { Row("cpu", 1, 2, at: T0.AddHours(1)) });
        var table = store.Read();
        Assert.Equal(0, table.HistoryLimit);
        Assert.Empty(Assert.Single(table).History);

        store.SetHistoryLimit(2);
        for (int i = 2; i < 6; i++) store.Merge(new[] { Row("cpu", 1, i + 1, at: T0.AddHours(i)) });
        Assert.Equal(2, Assert.Single(store.Read()).History.Count);
        store.SetHistoryLimit(1);
        Assert.Single(Assert.Single(store.Read()).History);
    }

    [Fact]
    public void KeySeparatesMachinesOptionsAndModelIdentity()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        var r = store.Merge(new[]
        {
            Row("cpu", 4, 1, machine: "node-a"),
            Row("cpu", 4, 2, machine: "node-b"),
            Row("cpu", 4, 3, machine: "node-a", options: "threads=2"),
            Row("cpu", 4, 4, machine: "node-a", hash: ""),           // imported row: identity is the name
            Row("cpu", 4, 5, options: "threads=2", at: T0.AddSeconds(1)) with { Unit = "CPU", MachineName = "NODE-A" }, // same key, other case
        });
        Assert.Equal(4, r.Added);
        Assert.Equal(1, r.Replaced);
        var table = store.Read();
        Assert.Equal(4, table.Count);
        Assert.Equal(new[] { "node-a", "node-b" }, table.Machines);
        Assert.Equal(5, table.Query(new PerfFilter { MachineName = "node-a", BackendOptions = "threads=2" }).Single().ExecMs);
    }

    [Fact]
    public void RemoveByFilterReturnsRemovedRowsAndKeepsTheRest()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { Row("cpu", 1, 1), Row("cpu", 2, 2), Row("gpu0", 1, 0.5), Row("gpu0", 2, 0.6), Row("cpu", 1, 9, model: "other", hash: "ffff0000ffff0000") });

        var removed = store.Remove(new PerfFilter { Model = "tinynet", Unit = "cpu" });
        Assert.Equal(new[] { 1, 2 }, removed.Select(e => e.BatchSize).Order());
        Assert.All(removed, e => Assert.Equal("cpu", e.Unit));

        var left = store.Read();
        Assert.Equal(3, left.Count);
        Assert.Contains(left, e => e.Model == "other" && e.Unit == "cpu");

        // By hash prefix and batch size; a predicate removing nothing writes nothing.
        Assert.Single(store.Remove(new PerfFilter { Model = "abc123de", BatchSize = 2 }));
        var before = File.GetLastWriteTimeUtc(store.Path);
        var bytes = File.ReadAllBytes(store.Path);
        Assert.Empty(store.Remove(e => e.BatchSize == 1000));
        Assert.Equal(bytes, File.ReadAllBytes(store.Path));
        Assert.Equal(before, File.GetLastWriteTimeUtc(store.Path));
    }

    [Fact]
    public void CorruptFileRaisesAndIsNeverOverwritten()
    {
        using var dir = new TempFolder();
        var path = dir.File("t.json");
        const string garbage = "{ \"schemaVersion\": 1, \"entries\": [ { \"model\": \"tinynet\", ";
        File.WriteAllText(path, garbage);
        var store = new PerfTableStore(path);

        var ex = Assert.Throws<HeteroBatchException>(() => store.Read());
        Assert.Equal("PerfTableCorrupt", ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, ex.Kind);
        Assert.Contains(path, ex.Message);

        var onMerge = Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { Row("cpu", 1, 1) }));
        Assert.Equal("PerfTableCorrupt", onMerge.ErrorId);
        Assert.Throws<HeteroBatchException>(() => store.Remove(_ => true));
        Assert.Equal(garbage, File.ReadAllText(path));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{ \"entries\": [] }")]
    [InlineData("{ \"schemaVersion\": 1, \"entries\": [ { \"model\": \"m\", \"machineName\": \"a\", \"unit\": \"cpu\", \"batchSize\": 0, \"execMs\": 1 } ] }")]
    [InlineData("{ \"schemaVersion\": 1, \"entries\": [ { \"model\": \"m\", \"machineName\": \"a\", \"unit\": \"cpu\", \"batchSize\": 1, \"execMs\": \"NaN\" } ] }")]
    [InlineData("")]
    public void StructurallyWrongTablesAreCorrupt(string content)
    {
        using var dir = new TempFolder();
        var path = dir.File("t.json");
        File.WriteAllText(path, content);
        var ex = Assert.Throws<HeteroBatchException>(() => new PerfTableStore(path).Read());
        Assert.Equal("PerfTableCorrupt", ex.ErrorId);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void HandEditedTableWithCommentsAndTrailingCommasReads()
    {
        using var dir = new TempFolder();
        var path = dir.File("t.json");
        File.WriteAllText(path, """
            {
              // measured by hand
              "schemaVersion": 1,
              "entries": [
                { "model": "m", "machineName": "a", "unit": "cpu", "batchSize": 2, "execMs": 1.5, },
              ],
            }
            """);
        var row = Assert.Single(new PerfTableStore(path).Read());
        Assert.Equal(1.5, row.ExecMs);
        Assert.Equal(PerfStatus.Ok, row.Status);
    }

    [Fact]
    public void NewerSchemaVersionIsRefusedAndKept()
    {
        using var dir = new TempFolder();
        var path = dir.File("t.json");
        const string future = "{ \"schemaVersion\": 2, \"entries\": [], \"somethingNew\": {} }";
        File.WriteAllText(path, future);
        var store = new PerfTableStore(path);
        var ex = Assert.Throws<HeteroBatchException>(() => store.Read());
        Assert.Equal("PerfTableVersionUnsupported", ex.ErrorId);
        Assert.Equal("PerfTableVersionUnsupported", Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { Row("cpu", 1, 1) })).ErrorId);
        Assert.Equal(future, File.ReadAllText(path));
    }

    [Fact]
    public void UnreadableTableRaisesReadFailed()
    {
        using var dir = new TempFolder();
        var path = dir.File("t.json");
        var store = new PerfTableStore(path);
        Directory.CreateDirectory(path);   // something that exists but cannot be read as a file (works as root too)
        var ex = Assert.Throws<HeteroBatchException>(() => store.Read());
        Assert.Equal("PerfTableReadFailed", ex.ErrorId);
        Assert.Equal(ErrorKind.ReadError, ex.Kind);
    }

    [Fact]
    public void InvalidEntriesAreRefusedNamingTheRowAndNothingIsWritten()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { Row("cpu", 1, 1) });
        var bytes = File.ReadAllBytes(store.Path);

        var bad = new[]
        {
            Row("cpu", 0, 1),
            Row("cpu", -3, 1),
            Row("cpu", 2, -1),
            Row("cpu", 2, double.NaN),
            Row("cpu", 2, 1, io: double.PositiveInfinity),
            Row("", 2, 1),
            Row("cpu", 2, 1, model: " "),
            Row("cpu", 2, 1) with { Status = "Exploded" },
            Row("cpu", PerfEntryValidation.MaxBatchSize + 1, 1),
            Row("cpu", 100_000_000, 1),
        };
        foreach (var b in bad)
        {
            var ex = Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { Row("cpu", 5, 1), b }));
            Assert.Equal("InvalidPerfEntry", ex.ErrorId);
            Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
            Assert.Contains("row 2", ex.Message);
        }
        Assert.Equal(bytes, File.ReadAllBytes(store.Path));
    }

    [Fact]
    public async Task ConcurrentStoresMergingIntoOneFileLoseNothing()
    {
        using var dir = new TempFolder();
        var path = dir.File("shared.json");
        const int writers = 8, rowsEach = 50;
        using var start = new Barrier(writers);
        // Dedicated threads released together, so the writers really contend even on a 2-core machine.
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Factory.StartNew(() =>
        {
            var store = new PerfTableStore(path);
            start.SignalAndWait();
            // One merge per row, so the writers interleave as much as they can.
            for (int i = 0; i < rowsEach; i++)
                store.Merge(new[] { Row("cpu", i + 1, w * 1000 + i, machine: "writer-" + w) });
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(tasks);

        var table = new PerfTableStore(path).Read();
        Assert.Equal(writers * rowsEach, table.Count);
        for (int w = 0; w < writers; w++)
            Assert.Equal(Enumerable.Range(1, rowsEach), table.ForMachine("writer-" + w).Select(e => e.BatchSize).Order());
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void TempFileLeftByACrashedWriterIsIgnoredAndCleanedUp()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { Row("cpu", 1, 1) });
        // What a writer killed between writing and renaming leaves behind: a half-written temp file.
        var leftover = dir.File("t.json.4242-0123456789abcdef.tmp");
        File.WriteAllText(leftover, "{ \"schemaVersion\": 1, \"entries\": [ { \"mod");

        Assert.Single(store.Read());
        store.Merge(new[] { Row("cpu", 2, 2) });
        Assert.False(File.Exists(leftover));
        Assert.Equal(2, store.Read().Count);
    }

    [Fact]
    public void HeldLockTimesOutWithPerfTableLocked()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json")) { LockTimeout = TimeSpan.FromMilliseconds(300) };
        using (new FileStream(store.LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var ex = Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { Row("cpu", 1, 1) }));
            Assert.Equal("PerfTableLocked", ex.ErrorId);
            Assert.Equal(ErrorKind.ResourceUnavailable, ex.Kind);
            Assert.False(File.Exists(store.Path));
        }
        // Released: the next writer gets through.
        Assert.Equal(1, store.Merge(new[] { Row("cpu", 1, 1) }).Added);
    }

    [Fact]
    public void SetEntryEditsTheMatchingRowOrAddsOne()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { Row("gpu0", 16, 4, io: 1, machine: Environment.MachineName) });

        var edit = store.SetEntry(new PerfEntryEdit { Model = "tinynet", Unit = "gpu0", BatchSize = 16, ExecMs = 3 });
        Assert.Equal(1, edit.Replaced);
        var row = Assert.Single(store.Read());
        Assert.Equal(3, row.ExecMs);
        Assert.Equal(1, row.IoMs);                     // I/O not given: kept
        Assert.Equal("abc123def4567890", row.ModelHash); // key kept
        Assert.Equal(4, Assert.Single(row.History).ExecMs);

        var added = store.SetEntry(new PerfEntryEdit { Model = "tinynet", Unit = "cpu", BatchSize = 16, ExecMs = 20, IoMs = 0 });
        Assert.Equal(1, added.Added);
        Assert.Equal(2, store.Read().Count);

        store.Merge(new[] { Row("gpu0", 16, 5, machine: Environment.MachineName, options: "threads=1") });
        var ambiguous = Assert.Throws<HeteroBatchException>(() =>
            store.SetEntry(new PerfEntryEdit { Model = "tinynet", Unit = "gpu0", BatchSize = 16, ExecMs = 1 }));
        Assert.Equal("PerfEntryAmbiguous", ambiguous.ErrorId);
        Assert.Equal(1, store.SetEntry(new PerfEntryEdit { Model = "tinynet", Unit = "gpu0", BatchSize = 16, ExecMs = 1, BackendOptions = "threads=1" }).Replaced);

        Assert.Equal("InvalidPerfEntry", Assert.Throws<HeteroBatchException>(() =>
            store.SetEntry(new PerfEntryEdit { Model = "tinynet", Unit = "cpu", BatchSize = 0, ExecMs = 1 })).ErrorId);
    }

    [Fact]
    public void FoldIsAnExponentialMovingAverageWithHistory()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { Row("cpu", 8, exec: 10, io: 2, at: T0) });

        var r = store.Fold(new[] { Row("cpu", 8, exec: 20, io: 4, at: T0.AddHours(1)) with { Repeats = 1 } }, weight: 0.25);
        Assert.Equal(1, r.Replaced);
        var row = Assert.Single(store.Read());
        Assert.Equal(12.5, row.ExecMs, 12);
        Assert.Equal(2.5, row.IoMs, 12);
        Assert.Equal(T0.AddHours(1), row.Timestamp);
        Assert.Equal(10, Assert.Single(row.History).ExecMs);

        // A measurement of a size not in the table is added as it is.
        Assert.Equal(1, store.Fold(new[] { Row("cpu", 9, exec: 11) }).Added);

        // A hash-less imported row is folded into, not twinned.
        store.Merge(new[] { Row("gpu0", 4, exec: 8, hash: "") });
        store.Fold(new[] { Row("gpu0", 4, exec: 4, at: T0.AddHours(2)) }, weight: 0.5);
        var gpu = Assert.Single(store.Read().ForUnit("gpu0"));
        Assert.Equal(6, gpu.ExecMs, 12);

        Assert.Equal("InvalidFoldWeight", Assert.Throws<HeteroBatchException>(() => store.Fold(new[] { Row("cpu", 8, 1) }, weight: 0)).ErrorId);
    }

    // Resolves against environments of its own: setting the process-wide variable would race the test
    // classes xUnit runs in parallel.
    [Fact]
    public void DefaultPathHonoursTheEnvironmentVariable()
    {
        string? None(string _) => null;
        var standard = PerfTableStore.ResolveDefaultPath(None);
        Assert.EndsWith(Path.Combine("HeteroBatch", "perftable.json"), standard);
        Assert.True(Path.IsPathRooted(standard));

        var custom = Path.Combine(Path.GetTempPath(), "custom-table.json");
        var withOverride = new Dictionary<string, string?> { [PerfTableStore.PathEnvironmentVariable] = custom };
        Assert.Equal(custom, PerfTableStore.ResolveDefaultPath(n => withOverride.GetValueOrDefault(n)));

        // A relative override is made absolute; a blank one is ignored.
        var relative = new Dictionary<string, string?> { [PerfTableStore.PathEnvironmentVariable] = "rel/table.json" };
        Assert.Equal(Path.GetFullPath("rel/table.json"), PerfTableStore.ResolveDefaultPath(n => relative.GetValueOrDefault(n)));
        var blank = new Dictionary<string, string?> { [PerfTableStore.PathEnvironmentVariable] = "  " };
        Assert.Equal(standard, PerfTableStore.ResolveDefaultPath(n => blank.GetValueOrDefault(n)));

        if (!OperatingSystem.IsWindows())
        {
            // XDG_DATA_HOME is honoured when absolute and ignored when relative (the XDG spec).
            var xdgRoot = Path.Combine(Path.GetTempPath(), "xdg-data");
            var xdg = new Dictionary<string, string?> { ["XDG_DATA_HOME"] = xdgRoot };
            Assert.Equal(Path.Combine(xdgRoot, "HeteroBatch", "perftable.json"), PerfTableStore.ResolveDefaultPath(n => xdg.GetValueOrDefault(n)));
            var xdgRelative = new Dictionary<string, string?> { ["XDG_DATA_HOME"] = "relative/data" };
            Assert.Equal(standard, PerfTableStore.ResolveDefaultPath(n => xdgRelative.GetValueOrDefault(n)));
        }

        // The store's default is the resolver's answer for this process (read here, never set).
        Assert.Equal(PerfTableStore.ResolveDefaultPath(), new PerfTableStore().Path);
        Assert.Equal(PerfTableStore.ResolveDefaultPath(), new PerfTableStore("").Path);
    }
}
