using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Table;
using Xunit;
using static HeteroBatch.Engine.Tests.Table.PerfTableStoreTests;

namespace HeteroBatch.Engine.Tests.Table;

public class PerfQueryTests
{
    private static readonly ModelInfo Tiny = new()
    {
        Name = "tinynet", Path = "/x/tinynet.onnx", Hash = "abc123def4567890", Source = "zoo",
        InputName = "input", InputItemShape = new[] { 3, 32, 32 }, OutputName = "logits", OutputItemShape = new[] { 10 },
    };

    [Fact]
    public void ModelQueriesMatchHashOrHashlessName()
    {
        var rows = new[]
        {
            Row("cpu", 1, 1),                                 // tinynet by hash
            Row("cpu", 2, 1, hash: ""),                       // imported, name only
            Row("cpu", 3, 1, hash: "9999999999999999"),       // another version of a same-named model
            Row("cpu", 4, 1, model: "resnet-50", hash: "0000111122223333"),
        };
        Assert.Equal(new[] { 1, 2 }, rows.ForModel(Tiny).Select(r => r.BatchSize));
        Assert.Equal(new[] { 1, 2, 3 }, rows.ForModel("TinyNet").Select(r => r.BatchSize));
        Assert.Equal(new[] { 4 }, rows.ForModel("00001111").Select(r => r.BatchSize));
        Assert.Empty(rows.ForModel("0000"));   // too short to be a hash prefix
        Assert.Equal(new[] { 3 }, rows.Where(new PerfFilter { Model = "9999999999999999", Unit = "CPU" }).Select(r => r.BatchSize));
    }

    [Fact]
    public void MatrixHasOneRowPerBatchAndOneColumnPerUnit()
    {
        var rows = new[]
        {
            Row("cpu", 1, 2, io: 0), Row("cpu", 2, 3, io: 0), Row("cpu", 4, 5, io: 0),
            Row("gpu0", 1, 1, io: 0.5), Row("gpu0", 4, 1.5, io: 0.5),
            Row("gpu0", 8, 0, io: 0) with { Status = PerfStatus.OutOfMemory },
        };
        var m = PerfMatrix.Build(rows);
        Assert.Equal(new[] { "cpu", "gpu0" }, m.Columns);
        Assert.Equal(new[] { 1, 2, 4, 8 }, m.Rows.Select(r => r.BatchSize));
        Assert.Equal(5.0, m.Rows[2].Cells["cpu"]);
        Assert.Equal(2.0, m.Rows[2].Cells["gpu0"]);
        Assert.Null(m.Rows[1].Cells["gpu0"]);   // not measured
        Assert.Null(m.Rows[3].Cells["gpu0"]);   // out of memory

        var dicts = m.ToDictionaries();
        Assert.Equal(new[] { "BatchSize", "cpu", "gpu0" }, dicts[0].Keys);
        Assert.Equal(1, dicts[0]["BatchSize"]);

        var perItem = PerfMatrix.Build(rows, PerfMatrixValue.MsPerItem);
        Assert.Equal(1.25, perItem.Rows[2].Cells["cpu"]);
    }

    [Fact]
    public void MatrixColumnsNameMachinesAndOptionsWhenTheyDiffer()
    {
        var rows = new[]
        {
            Row("cpu", 1, 2, machine: "a"), Row("cpu", 1, 3, machine: "b"),
            Row("cpu", 1, 4, machine: "b", options: "threads=2"),
        };
        var m = PerfMatrix.Build(rows);
        Assert.Equal(new[] { "a/cpu", "b/cpu", "b/cpu [threads=2]" }, m.Columns);
    }
}
