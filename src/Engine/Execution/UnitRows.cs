using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Execution;

/// <summary>A run's model and units, each unit's backend options (by unit id), and the perf table's rows for them
/// (see <see cref="InferencePipeline.Prepare"/>).</summary>
internal sealed record UnitRows(ModelInfo Model, IReadOnlyList<ComputeUnit> Units, IReadOnlyDictionary<string, BackendOptions> Options,
    IReadOnlyList<PerfEntry> Rows);
