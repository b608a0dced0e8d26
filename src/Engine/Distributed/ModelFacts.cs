using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

/// <summary>The facts of a model that every machine of a run must agree on.</summary>
public sealed record ModelFacts
{
    public required string Name { get; init; }
    public required string Hash { get; init; }
    public required int[] InputItemShape { get; init; }
    public required int[] OutputItemShape { get; init; }
    public int? MaxBatchSize { get; init; }

    [JsonIgnore] public int InputElementsPerItem => InputItemShape.Aggregate(1, (a, b) => checked(a * b));
    [JsonIgnore] public int OutputElementsPerItem => OutputItemShape.Aggregate(1, (a, b) => checked(a * b));
    [JsonIgnore] public string ShortHash => Hash.Length > 12 ? Hash[..12] : Hash;

    public static ModelFacts From(ModelInfo model) => new()
    {
        Name = model.Name, Hash = model.Hash, InputItemShape = (int[])model.InputItemShape.Clone(),
        OutputItemShape = (int[])model.OutputItemShape.Clone(), MaxBatchSize = model.MaxBatchSize,
    };
}
