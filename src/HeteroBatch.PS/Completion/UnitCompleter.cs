using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.PS.Completion;

/// <summary>Completes -Unit with the ids of this machine's compute units.</summary>
public sealed class UnitCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        IReadOnlyList<ComputeUnit> units;
        try { units = ComputeUnitDiscovery.Discover(); }
        catch (Exception) { yield break; } // completion must never throw at the user
        foreach (var unit in units.Where(u => u.Id.StartsWith(word, StringComparison.OrdinalIgnoreCase)))
        {
            var tip = unit.Available ? $"{unit.Kind}: {unit.Name}" : $"{unit.Kind}: {unit.Name} (unavailable: {unit.Reason})";
            yield return new CompletionResult(unit.Id, unit.Id, CompletionResultType.ParameterValue, tip);
        }
    }
}
