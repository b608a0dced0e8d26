using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

/// <summary>What a machine did with its slice; the output floats travel beside it.</summary>
public sealed record ShareResult
{
    public required string MachineName { get; init; }
    public required int FirstItem { get; init; }
    public required int Items { get; init; }
    /// <summary>Time the machine spent on the slice (loading, planning, running), milliseconds.</summary>
    public double WallMs { get; init; }
    /// <summary>The machine's units, with their local ids.</summary>
    public required UnitRunReport[] Units { get; init; }
    /// <summary>Per unit and batch size, the mean chunk time measured in this slice (rows to fold into the table).</summary>
    public PerfEntry[] Measured { get; init; } = Array.Empty<PerfEntry>();
    public int[] OutputItemShape { get; init; } = Array.Empty<int>();
    /// <summary>The slice's outputs, item-major; not part of the JSON.</summary>
    [JsonIgnore] public float[]? Output { get; init; }
}
