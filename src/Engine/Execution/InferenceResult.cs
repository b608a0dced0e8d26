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
    /// <summary>One-time cost before the run: opening the session and warming the batch sizes the share runs
    /// (a GPU's algorithm search and CUDA graph capture per size). 0 when the unit was already warm.</summary>
    public double SetupMs { get; init; }
    /// <summary>Time to move inputs/outputs between machines (remote units); 0 locally.</summary>
    public double TransferMs { get; init; }
    /// <summary>Items this unit completed (its own share plus items re-planned onto it).</summary>
    public int ItemsCompleted { get; init; }
    public bool Failed { get; init; }
    public string? Error { get; init; }
    /// <summary>ErrorId of the failure when it was a <see cref="Errors.HeteroBatchException"/> (e.g. <c>UnitOutOfMemory</c>); null otherwise.</summary>
    public string? ErrorId { get; init; }
    /// <summary>Items of other units' shares that were re-planned onto this unit after they failed.</summary>
    public int ItemsReplanned { get; init; }

    /// <summary>Every executed chunk with its timing, in order; what the perf-table feedback folds in.</summary>
    internal IReadOnlyList<ChunkRun> Chunks { get; init; } = Array.Empty<ChunkRun>();
}

/// <summary>One executed chunk: its (possibly padded) batch size, the real items in it, and its timing.</summary>
public readonly record struct ChunkRun(int Offset, int BatchSize, int Items, double ExecMs, double IoMs);

/// <summary>The result of one batch run across units. Output tensors are kept out of the printable record.</summary>
public sealed record InferenceResult
{
    public required string Model { get; init; }
    public string ModelHash { get; init; } = "";
    public required int BatchSize { get; init; }
    /// <summary>Wall time of the run itself, from the first share started to the last item done (setup excluded).</summary>
    public required double WallMs { get; init; }
    /// <summary>Wall time spent before the run opening sessions and warming batch sizes on the units (0 once warm):
    /// the cold cost of a first call, reported apart so that <see cref="WallMs"/> compares with <see cref="PredictedMs"/>.</summary>
    public double SetupMs { get; init; }
    /// <summary>The plan's predicted time of the run (steady state, setup excluded).</summary>
    public double PredictedMs { get; init; }
    public double ItemsPerSecond => WallMs > 0 ? BatchSize * 1000.0 / WallMs : double.NaN;
    /// <summary>Per unit; in a run across machines, units are named <c>machine/unit</c>.</summary>
    public required UnitRunReport[] Units { get; init; }
    /// <summary>In a run across machines, one row per machine (<see cref="UnitRunReport.Unit"/> is the machine's name):
    /// its slice, predicted against actual time, the time spent moving data to and from it
    /// (<see cref="UnitRunReport.TransferMs"/>), and whether it dropped out. Empty for a run on one machine.</summary>
    public UnitRunReport[] Machines { get; init; } = Array.Empty<UnitRunReport>();
    /// <summary>Cold units the planner left out because their setup (opening the session, warming the sizes) would
    /// cost more than they save the run; each with its estimate, the time it would save and why. Empty when none
    /// (always with a given plan or -WarmUp).</summary>
    public Planning.LeftOutUnit[] LeftOutCold { get; init; } = Array.Empty<Planning.LeftOutUnit>();
    /// <summary>Units that failed mid-run, with their items re-run elsewhere.</summary>
    public string[] FailedUnits { get; init; } = Array.Empty<string>();
    /// <summary>Machines that dropped out mid-run, with their items re-run on the others.</summary>
    public string[] FailedMachines { get; init; } = Array.Empty<string>();
    /// <summary>Shape of the output tensor, batch first.</summary>
    public int[] OutputShape { get; init; } = Array.Empty<int>();
    /// <summary>Items that were re-planned after a unit failed (0 when every unit finished its share).</summary>
    public int ItemsReplanned { get; init; }
    /// <summary>What the batch was (e.g. "12 images", "synthetic batch of 32 (seed 0)").</summary>
    public string Input { get; init; } = "";
    /// <summary>Where the output tensor was written as .npy, when it was.</summary>
    public string? OutputPath { get; init; }
    /// <summary>The plan that was run.</summary>
    public Planning.BatchPlan? Plan { get; init; }
    /// <summary>
    /// The machine's best single unit for the whole batch: the best of the plan's units and, when the CPU ran as
    /// slices (<c>cpu:0</c>, <c>cpu:1</c>), of the whole CPU, predicted from its rows in the perf table. What the run's
    /// speedup is measured against. Empty when the run did not look further than the plan (then
    /// <see cref="Planning.BatchPlan.BestSingleUnit"/> is the baseline).
    /// </summary>
    public string BestSingleUnit { get; init; } = "";
    /// <summary>Predicted time of <see cref="BestSingleUnit"/> for the whole batch, ms; 0 when unknown.</summary>
    public double BestSingleUnitMs { get; init; }

    /// <summary>The output tensor; a property would be printed with every result, so it is behind a method.</summary>
    internal BatchOutput? Output { get; init; }

    /// <summary>The output tensor [N, ...] in item order: write it with <see cref="BatchOutput.SaveNpy"/>, take
    /// <see cref="BatchOutput.ToArray"/>, or <see cref="BatchOutput.TopK"/> for classifiers. Null only for results
    /// rebuilt from serialized form (remoting), which carry no tensor.</summary>
    public BatchOutput? GetOutput() => Output;

    /// <summary>The result of a run over lanes, built the same way for units and machines: the outputs in item order, the
    /// per-unit reports (and per-machine ones), the failures and re-plans counted from them.</summary>
    internal static InferenceResult Of(string model, string modelHash, float[] output, int batchSize, int[] outputItemShape, IReadOnlyList<string>? sources,
        string inputDescription, Planning.BatchPlan plan, double wallMs, double setupMs, UnitRunReport[] units, UnitRunReport[]? machines = null)
    {
        var tensor = new BatchOutput(output, batchSize, (int[])outputItemShape.Clone(), sources);
        return new InferenceResult
        {
            Model = model,
            ModelHash = modelHash,
            BatchSize = batchSize,
            WallMs = wallMs,
            SetupMs = setupMs,
            PredictedMs = plan.PredictedMs,
            Units = units,
            Machines = machines ?? Array.Empty<UnitRunReport>(),
            FailedUnits = units.Where(u => u.Failed).Select(u => u.Unit).ToArray(),
            FailedMachines = machines?.Where(m => m.Failed).Select(m => m.Unit).ToArray() ?? Array.Empty<string>(),
            ItemsReplanned = units.Sum(u => u.ItemsReplanned),
            OutputShape = tensor.Shape,
            Input = inputDescription,
            Plan = plan,
            Output = tensor,
        };
    }
}
