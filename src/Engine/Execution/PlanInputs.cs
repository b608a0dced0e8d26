using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>What the planner is given: the model, the batch size, the units and their table rows for this run's options.</summary>
internal sealed record PlanInputs(ModelInfo Model, int BatchSize, IReadOnlyList<ComputeUnit> Units, IReadOnlyList<PerfEntry> Rows, PlanAlgorithm Algorithm);
