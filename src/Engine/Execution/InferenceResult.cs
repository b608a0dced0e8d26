namespace HeteroBatch.Engine.Execution;

/// <summary>What one unit did during a heterogeneous run.</summary>
public sealed record UnitRunReport
{
    public required string Unit { get; init; }
    public string MachineName { get; init; } = "";
    public required int Items { get; init; }
    public int Offset { get; init; }
    public int[] ExecutedBatchSizes { get; init; } = Array.Empty<int>();
    public double PredictedMs { get; init; }
    /// <summary>Wall time of the unit's share, from start of the run to its last item.</summary>
    public double ActualMs { get; init; }
    public double ExecMs { get; init; }
    public double IoMs { get; init; }
    /// <summary>Time to move inputs/outputs between machines (remote units); 0 locally.</summary>
    public double TransferMs { get; init; }
    /// <summary>Items this unit completed (its own share plus items re-planned onto it).</summary>
    public int ItemsCompleted { get; init; }
    public bool Failed { get; init; }
    public string? Error { get; init; }
}

/// <summary>The result of one batch run across units. Output tensors are kept out of the printable record.</summary>
public sealed record InferenceResult
{
    public required string Model { get; init; }
    public string ModelHash { get; init; } = "";
    public required int BatchSize { get; init; }
    public required double WallMs { get; init; }
    public double PredictedMs { get; init; }
    public double ItemsPerSecond => WallMs > 0 ? BatchSize * 1000.0 / WallMs : double.NaN;
    public required UnitRunReport[] Units { get; init; }
    /// <summary>Units that failed mid-run, with their items re-run elsewhere.</summary>
    public string[] FailedUnits { get; init; } = Array.Empty<string>();
    /// <summary>Shape of the output tensor, batch first.</summary>
    public int[] OutputShape { get; init; } = Array.Empty<int>();
}
