using System.Management.Automation;
using HeteroBatch.Engine.Units;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>Lists the compute units of this machine (CPU, CUDA GPUs, OpenVINO devices).</summary>
[Cmdlet(VerbsCommon.Get, "ComputeUnit", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(ComputeUnit))]
public sealed class GetComputeUnitCommand : HeteroBatchCmdlet
{
    private const string DefaultSet = "Default";

    /// <summary>Unit ids to return (cpu, gpu0, ...); wildcards allowed. Unknown ids are errors.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = DefaultSet)]
    [Alias("Unit")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Id { get; set; }

    /// <summary>Only units of these kinds (Cpu, Gpu, Accelerator).</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    public ComputeUnitKind[]? Kind { get; set; }

    /// <summary>Probe the hardware again instead of using the discovery cached for this session.</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    public SwitchParameter Refresh { get; set; }

    /// <summary>Only units that can run models now.</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    public SwitchParameter Available { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ComputeUnit> units;
        try
        {
            units = ComputeUnitDiscovery.Discover(Refresh.IsPresent);
        }
        catch (Exception ex)
        {
            ThrowEngineError(ex);
            return;
        }

        IEnumerable<ComputeUnit> selected = units;
        if (Kind is { Length: > 0 }) selected = selected.Where(u => Kind.Contains(u.Kind));
        if (Available) selected = selected.Where(u => u.Available);
        var result = selected.ToList();

        if (Id is { Length: > 0 })
        {
            var matched = new List<ComputeUnit>();
            foreach (var id in Id)
            {
                var pattern = new WildcardPattern(id, WildcardOptions.IgnoreCase);
                var hits = result.Where(u => pattern.IsMatch(u.Id)).ToList();
                if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(id))
                {
                    var known = string.Join(", ", units.Select(u => u.Id));
                    WriteError(ErrorMapping.Create("UnitNotFound", HeteroBatch.Engine.Errors.ErrorKind.ObjectNotFound,
                        $"No compute unit '{id}' on {Environment.MachineName}. Units here: {known}.", id));
                }
                matched.AddRange(hits.Where(h => !matched.Contains(h)));
            }
            result = matched;
        }

        foreach (var unit in result) WriteObject(unit);
    }
}
