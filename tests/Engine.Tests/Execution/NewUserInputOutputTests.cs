using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>Issue 15 (what a new user meets): the output folder checked before a run, skipped input files named.</summary>
public sealed class NewUserInputOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-newuser-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CheckWritable_fails_for_a_folder_under_a_file_and_leaves_nothing_for_a_good_one()
    {
        var file = Path.Combine(_dir, "plain.txt");
        File.WriteAllText(file, "x");
        var ex = Assert.Throws<HeteroBatchException>(() => NpyFile.CheckWritable(Path.Combine(file, "out.npy")));
        Assert.Equal(ExecutionErrorIds.OutputWriteFailed, ex.ErrorId);
        Assert.Equal(ErrorKind.WriteError, ex.Kind);
        Assert.Contains($"'{file}'", ex.Message);

        var folderGiven = Assert.Throws<HeteroBatchException>(() => NpyFile.CheckWritable(_dir));
        Assert.Equal(ExecutionErrorIds.OutputWriteFailed, folderGiven.ErrorId);

        var good = Path.Combine(_dir, "new", "out.npy");
        NpyFile.CheckWritable(good);
        Assert.True(Directory.Exists(Path.GetDirectoryName(good)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(good)!));
    }

    [Fact]
    public void SkippedInFolders_names_the_files_a_folder_batch_leaves_out()
    {
        var folder = Path.Combine(_dir, "images");
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "a.png", "b.JPG", "c.npy", "notes.txt", "README" }) File.WriteAllText(Path.Combine(folder, name), "");
        var single = Path.Combine(_dir, "single.txt");
        File.WriteAllText(single, "");
        var skipped = BatchInputLoader.SkippedInFolders(new[] { folder, single, Path.Combine(_dir, "missing") });
        Assert.Equal(new[] { "README", "notes.txt" }, skipped.Select(Path.GetFileName));
    }
}
