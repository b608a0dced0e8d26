using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

/// <summary>What a machine is asked about: its units, and for a run, the model and the units it would use.</summary>
public sealed record MachineQuery
{
    /// <summary>The run's options with the machine's own unit ids (<see cref="RunOptions.ForMachine"/>): the model as the
    /// machine resolves it (with the run's precision and model cache) and the units it would use (none: every available
    /// unit); null asks for every unit of the machine, available or not.</summary>
    public RunOptions? Options { get; init; }
    /// <summary>Probe the hardware again instead of using the machine's cached discovery.</summary>
    public bool Refresh { get; init; }
}
