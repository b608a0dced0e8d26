using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using Xunit;

namespace HeteroBatch.Engine.Tests.Table;

/// <summary>Issue 15 (what a new user meets): the table's write errors, CSV round trips and the MissingProfile hint.</summary>
public class NewUserTableTests
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 11, 30, 10, 20, 30, TimeSpan.Zero).AddTicks(1234567);

    [Fact]
    public void Only_a_lock_held_elsewhere_is_contention()
    {
        // EROFS (30), ENOSPC (28), EIO (5) and a missing folder do not pass by waiting.
        foreach (var errno in new[] { 30, 28, 5 })
            Assert.False(PerfTableLock.IsHeldByAnotherWriter(new IOException("Read-only file system", errno)));
        Assert.False(PerfTableLock.IsHeldByAnotherWriter(new FileNotFoundException("gone")));
        Assert.False(PerfTableLock.IsHeldByAnotherWriter(new DirectoryNotFoundException("gone")));

        // The error .NET really raises for a lock held by another handle is contention.
        using var dir = new TempFolder();
        var lockPath = dir.File("t.json.lock");
        using var held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var ex = Assert.ThrowsAny<IOException>(() => new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        Assert.True(PerfTableLock.IsHeldByAnotherWriter(ex), $"HResult {ex.HResult}: {ex.Message}");
        // ... and the write check does not mistake it for an unwritable folder.
        PerfTableLock.CheckWritable(lockPath);
    }

    [Fact]
    public void An_unwritable_location_fails_at_once_naming_the_folder()
    {
        using var dir = new TempFolder();
        // A folder that is a regular file: no user, root included, can create anything under it.
        var file = dir.File("plain");
        File.WriteAllText(file, "x");
        var store = new PerfTableStore(Path.Combine(file, "perftable.json"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<HeteroBatchException>(() => store.Merge(new[] { PerfTableStoreTests.Row("cpu", 1, 1) }));
        Assert.Equal("PerfTableWriteFailed", ex.ErrorId);
        Assert.Equal(ErrorKind.WriteError, ex.Kind);
        Assert.Contains(file, ex.Message);
        Assert.Throws<HeteroBatchException>(store.CheckWritable);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void On_Linux_a_procfs_table_fails_at_once_instead_of_waiting_for_the_lock()
    {
        if (!OperatingSystem.IsLinux()) return;
        var store = new PerfTableStore("/proc/heterobatch-test-perftable.json");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<HeteroBatchException>(() => store.SetEntry(new PerfEntryEdit { Model = "m", Unit = "cpu", BatchSize = 1, ExecMs = 1 }));
        Assert.Equal("PerfTableWriteFailed", ex.ErrorId);
        Assert.Contains("'/proc'", ex.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Throws<HeteroBatchException>(store.CheckWritable);
    }

    [Fact]
    public void A_timestamp_cut_to_whole_seconds_is_the_stored_rows_time()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { PerfTableStoreTests.Row("cpu", 1, 5, at: T0), PerfTableStoreTests.Row("cpu", 2, 8, at: T0) });
        var cut = new DateTimeOffset(T0.Ticks - T0.Ticks % TimeSpan.TicksPerSecond, T0.Offset);

        // As Export-Csv gives them back: the unedited row is unchanged, the edited one replaces the stored row.
        var result = store.Merge(new[] { PerfTableStoreTests.Row("cpu", 1, 5, at: cut), PerfTableStoreTests.Row("cpu", 2, 99, at: cut) });
        Assert.Equal((0, 1, 1), (result.Added, result.Replaced, result.Unchanged));
        Assert.Empty(result.Older);
        var rows = store.Read().Entries.OrderBy(e => e.BatchSize).ToArray();
        Assert.Equal(5, rows[0].ExecMs);
        Assert.Equal(T0, rows[0].Timestamp);
        Assert.Equal(99, rows[1].ExecMs);
        Assert.Equal(8, rows[1].History.Single().ExecMs);

        // Millisecond precision matches too; a second earlier does not.
        var ms = new DateTimeOffset(T0.Ticks - T0.Ticks % TimeSpan.TicksPerMillisecond, T0.Offset);
        Assert.Equal(T0, PerfTableMerge.WithStoredTimestamp(rows[0], rows[0] with { Timestamp = ms }).Timestamp);
        Assert.Equal(cut.AddSeconds(-1), PerfTableMerge.WithStoredTimestamp(rows[0], rows[0] with { Timestamp = cut.AddSeconds(-1) }).Timestamp);
    }

    [Fact]
    public void An_older_row_with_other_numbers_is_reported_not_applied()
    {
        using var dir = new TempFolder();
        var store = new PerfTableStore(dir.File("t.json"));
        store.Merge(new[] { PerfTableStoreTests.Row("cpu", 4, 5, at: T0) });
        var result = store.Merge(new[] { PerfTableStoreTests.Row("cpu", 4, 50, at: T0.AddDays(-1)), PerfTableStoreTests.Row("cpu", 8, 9, at: T0.AddDays(-1)) });
        Assert.Equal((1, 0, 1), (result.Added, result.Replaced, result.Unchanged));
        Assert.Equal(50, Assert.Single(result.Older).ExecMs);
        Assert.Equal(5, store.Read().Entries.Single(e => e.BatchSize == 4).ExecMs);
        // An older copy with the same numbers (an old export merged again) is no news.
        Assert.Empty(store.Merge(new[] { PerfTableStoreTests.Row("cpu", 4, 5, at: T0.AddDays(-2)) }).Older);
    }

    [Fact]
    public void The_MissingProfile_hint_saves_and_names_the_model_and_table_as_given()
    {
        var plain = new MissingProfileException("tinynet", new[] { "cpu", "gpu0" });
        Assert.EndsWith("then retry: Measure-BatchProfile -Model tinynet -Unit cpu,gpu0 -Save", plain.Message);

        var command = MissingProfileException.ProfileCommand("./models/my net.onnx", new[] { "cpu" }, "C:\\Tables\\it's.json", halfPrecision: true);
        Assert.Equal("Measure-BatchProfile -Model './models/my net.onnx' -Unit cpu -Precision Half -Save -Path 'C:\\Tables\\it''s.json'", command);
        Assert.Equal("Measure-BatchProfile -Model /data/sq.onnx -Unit cpu:1 -Save -Path ./t.json",
            MissingProfileException.ProfileCommand("/data/sq.onnx", new[] { "cpu:1" }, "./t.json"));
        Assert.Equal("Measure-BatchProfile -Model tinynet -Unit cpu -ThreadCount 4 -Save",
            MissingProfileException.ProfileCommand("tinynet", new[] { "cpu" }, threadCount: 4));
        var withCommand = new MissingProfileException("sq", new[] { "cpu" }, null, command);
        Assert.Equal(PlanningErrorIds.MissingProfile, withCommand.ErrorId);
        Assert.EndsWith(command, withCommand.Message);
        Assert.Equal(command, withCommand.Command);
    }
}
