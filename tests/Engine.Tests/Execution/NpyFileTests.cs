using System.Text;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

public sealed class NpyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hb-npy-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Header_matches_what_numpy_writes()
    {
        // numpy.save(np.zeros((2,3), np.float32)) starts with these 128 bytes: version 1.0, header length 118.
        var header = NpyFile.BuildHeader(new[] { 2, 3 });
        Assert.Equal(128, header.Length);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0 }, header[..10]);
        var text = Encoding.ASCII.GetString(header, 10, 118);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", text);
        Assert.EndsWith("\n", text);
        Assert.Equal("(5,)", Encoding.ASCII.GetString(NpyFile.BuildHeader(new[] { 5 })).Split("'shape': ")[1][..4]);
    }

    [Theory]
    [InlineData(new[] { 4 })]
    [InlineData(new[] { 2, 3, 4, 5 })]
    [InlineData(new int[0])]
    public void Write_then_read_round_trips(int[] shape)
    {
        int count = shape.Aggregate(1, (a, b) => a * b);
        var data = Enumerable.Range(0, count).Select(i => i * 0.5f - 3f).ToArray();
        var path = Path.Combine(_dir, "t.npy");
        NpyFile.Write(path, data, shape);
        var (read, readShape) = NpyFile.Read(path);
        Assert.Equal(shape, readShape);
        Assert.Equal(data, read);
        Assert.Single(Directory.GetFiles(_dir)); // the temporary file is gone
    }

    [Fact]
    public void Reads_version_2_header_and_long_suffix()
    {
        var path = Path.Combine(_dir, "v2.npy");
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        var headerText = dict.PadRight(64 - 12 - 1) + "\n";
        using (var f = File.Create(path))
        {
            f.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0 });
            f.Write(BitConverter.GetBytes(headerText.Length));
            f.Write(Encoding.ASCII.GetBytes(headerText));
            foreach (var v in new[] { 1f, 2f, 3f }) f.Write(BitConverter.GetBytes(v));
        }
        var (data, shape) = NpyFile.Read(path);
        Assert.Equal(new[] { 3 }, shape);
        Assert.Equal(new[] { 1f, 2f, 3f }, data);
    }

    [Theory]
    [InlineData("<f8", false, "UnsupportedInputType")]
    [InlineData("<i4", false, "UnsupportedInputType")]
    [InlineData(">f4", false, "UnsupportedInputType")]
    [InlineData("<f4", true, "UnsupportedInputType")]
    public void Rejects_other_dtypes_and_layouts(string descr, bool fortran, string errorId)
    {
        var path = Path.Combine(_dir, "bad.npy");
        WriteRaw(path, $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': (2,), }}", new byte[16]);
        var e = Assert.Throws<HeteroBatchException>(() => NpyFile.Read(path));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains("bad.npy", e.Message);
    }

    [Fact]
    public void Truncated_and_garbage_files_are_NpyFormatInvalid()
    {
        var path = Path.Combine(_dir, "short.npy");
        WriteRaw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }", new byte[12]);
        Assert.Equal(ExecutionErrorIds.NpyFormatInvalid, Assert.Throws<HeteroBatchException>(() => NpyFile.Read(path)).ErrorId);

        var garbage = Path.Combine(_dir, "garbage.npy");
        File.WriteAllText(garbage, "this is not numpy");
        Assert.Equal(ExecutionErrorIds.NpyFormatInvalid, Assert.Throws<HeteroBatchException>(() => NpyFile.Read(garbage)).ErrorId);

        Assert.Equal(ExecutionErrorIds.InputNotFound,
            Assert.Throws<HeteroBatchException>(() => NpyFile.Read(Path.Combine(_dir, "missing.npy"))).ErrorId);
    }

    [Fact]
    public void Failed_write_leaves_no_file_behind()
    {
        // The target is an existing directory: the rename fails after the data was written to the temporary file.
        var target = Path.Combine(_dir, "out.npy");
        Directory.CreateDirectory(target);
        var e = Assert.Throws<HeteroBatchException>(() => NpyFile.Write(target, new float[] { 1, 2 }, new[] { 2 }));
        Assert.Equal(ExecutionErrorIds.OutputWriteFailed, e.ErrorId);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Overwrites_an_existing_file_whole()
    {
        var path = Path.Combine(_dir, "o.npy");
        NpyFile.Write(path, new float[100], new[] { 100 });
        NpyFile.Write(path, new float[] { 7 }, new[] { 1 });
        var (data, shape) = NpyFile.Read(path);
        Assert.Equal(new[] { 1 }, shape);
        Assert.Equal(new[] { 7f }, data);
        Assert.Equal(128 + 4, new FileInfo(path).Length);
    }

    internal static void WriteRaw(string path, string dict, byte[] data)
    {
        int total = 10 + dict.Length + 1;
        var headerText = dict + new string(' ', (total + 63) / 64 * 64 - total) + "\n";
        using var f = File.Create(path);
        f.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        f.Write(BitConverter.GetBytes((ushort)headerText.Length));
        f.Write(Encoding.ASCII.GetBytes(headerText));
        f.Write(data);
    }
}
