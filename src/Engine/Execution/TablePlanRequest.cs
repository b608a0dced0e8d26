using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;

namespace HeteroBatch.Engine.Execution;

/// <summary>What Split-Batch asks for: a plan from the performance table alone (see <see cref="TablePlanner"/>).</summary>
public sealed record TablePlanRequest
{
    /// <summary>Zoo name, ONNX path (its content hash selects the rows) or a model name of the table.</summary>
    public required string Model { get; init; }
    /// <summary>Half plans the model's fp16 conversion, a model of its own in the table.</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Single;
    public required int BatchSize { get; init; }
    /// <summary>Unit ids as named in the table: <c>gpu0</c>, or <c>node1/gpu0</c> for a unit of machine node1 (plans across
    /// machines); none: this machine's available units, or every unit of the machine named in the table.</summary>
    public IReadOnlyList<string> Units { get; init; } = Array.Empty<string>();
    /// <summary>Machines named: one plans with that machine's rows; several plan across them.</summary>
    public IReadOnlyList<string> Machines { get; init; } = Array.Empty<string>();
    /// <summary>Units that came with their machine (Get-ComputeUnit -Session records).</summary>
    public IReadOnlyList<(string Machine, string Unit)> UnitsOnMachines { get; init; } = Array.Empty<(string, string)>();
    /// <summary>Only rows measured with this backend options key, when a unit has several.</summary>
    public string? BackendOptions { get; init; }
    public PlanAlgorithm Algorithm { get; init; } = PlanAlgorithm.Optimal;
}
