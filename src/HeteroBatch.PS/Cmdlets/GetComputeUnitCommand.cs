using System.Management.Automation;
using System.Management.Automation.Runspaces;
using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Units;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;
using HeteroBatch.PS.Remoting;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>Lists the compute units of this machine (CPU, CUDA GPUs; OpenVINO devices only as unavailable, as this build has no OpenVINO backend), or of remote machines through their sessions.</summary>
[Cmdlet(VerbsCommon.Get, "ComputeUnit", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(ComputeUnit))]
public sealed class GetComputeUnitCommand : HeteroBatchCmdlet
{
    private const string DefaultSet = "Default";

    /// <summary>Unit ids to return (cpu, gpu0, or node1/gpu0 with the machine); wildcards allowed. Unknown ids are errors.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = DefaultSet)]
    [Alias("Unit")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Id { get; set; }

    /// <summary>Only units of these kinds (Cpu, Gpu, Accelerator).</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    public ComputeUnitKind[]? Kind { get; set; }

    /// <summary>Probe the hardware again instead of using the discovery cached for this session (on each machine).</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    public SwitchParameter Refresh { get; set; }

    /// <summary>Only units that can run models now.</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    public SwitchParameter Available { get; set; }

    /// <summary>List the units of the machines these sessions (New-PSSession, SSH or WinRM) lead to instead of this one's; the module must be installed there.</summary>
    [Parameter(ParameterSetName = DefaultSet)]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    protected override void ProcessRecord()
    {
        if (Session is { Length: > 0 })
        {
            ListRemote();
            return;
        }

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
        // A kind of unit whose discovery broke is missing from the list: say so rather than list fewer units silently.
        foreach (var failure in ComputeUnitDiscovery.ProbeFailures)
            WriteWarning($"{failure} Units of that kind are left out; run Get-ComputeUnit -Refresh to probe again.");
        var ids = new List<string>();
        foreach (var id in Id ?? Array.Empty<string>())
        {
            // machine/unit names this machine or, without -Session, no machine this cmdlet can reach.
            UnitAddress address;
            try { address = UnitAddress.Parse(id); }
            catch (HeteroBatchException e) { WriteEngineError(e, id); continue; }
            if (address.HasMachine && !UnitAddress.IsThisMachine(address.MachineName))
            {
                WriteError(ErrorMapping.Create(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
                    $"Unit '{id}' is on machine '{address.MachineName}', not on this one ({Environment.MachineName}). List another machine's units with -Session.", id));
                continue;
            }
            ids.Add(address.Unit);
        }
        if (Id is { Length: > 0 } && ids.Count == 0) return;
        foreach (var unit in Select(units, ids.Count > 0 ? ids : null, Environment.MachineName)) WriteObject(unit);
    }

    private void ListRemote()
    {
        var sessions = Session!;
        var listed = RunEngine((_, ct) =>
        {
            using var machines = RemoteMachines.Open(new RemoteTargets { Sessions = sessions }, ct);
            var answers = new MachineDescription[machines.Runners.Count];
            Parallel.For(0, answers.Length, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Math.Max(1, answers.Length) },
                i => answers[i] = machines.Runners[i].Describe(new MachineQuery { Refresh = Refresh.IsPresent }, ct));
            return answers;
        });

        // Ids for a machine: plain ids for every machine, node1/cpu for node1 (by the name it reports or the session's host).
        var addresses = new List<UnitAddress>();
        foreach (var id in Id ?? Array.Empty<string>())
        {
            try { addresses.Add(UnitAddress.Parse(id)); }
            catch (HeteroBatchException e) { WriteEngineError(e, id); }
        }
        foreach (var a in addresses.Where(a => a.HasMachine))
        {
            bool known = Enumerable.Range(0, sessions.Length).Any(i => a.IsOn(listed[i].MachineName, sessions[i].ComputerName));
            if (!known)
                WriteError(ErrorMapping.Create(UnitErrorIds.UnknownMachine, ErrorKind.ObjectNotFound,
                    $"Unit '{a}' names machine '{a.MachineName}', but none of the sessions leads there; they lead to " +
                    $"{string.Join(", ", Enumerable.Range(0, sessions.Length).Select(i => $"{listed[i].MachineName} ({sessions[i].ComputerName})"))}.", a.ToString()));
        }
        for (int i = 0; i < sessions.Length; i++)
        {
            var mine = addresses.Where(a => a.IsOn(listed[i].MachineName, sessions[i].ComputerName)).Select(a => a.Unit).ToList();
            if (addresses.Count > 0 && mine.Count == 0) continue;
            foreach (var unit in Select(listed[i].Units, mine.Count > 0 ? mine : null, listed[i].MachineName))
            {
                var record = PSObject.AsPSObject(unit);
                record.Properties.Add(new PSNoteProperty("PSComputerName", sessions[i].ComputerName));
                WriteObject(record);
            }
        }
    }

    /// <summary>The units that pass -Kind, -Available and the ids (wildcards allowed); an exact id that matches nothing is an error.</summary>
    private IEnumerable<ComputeUnit> Select(IReadOnlyList<ComputeUnit> units, IReadOnlyList<string>? ids, string machineName)
    {
        IEnumerable<ComputeUnit> selected = units;
        if (Kind is { Length: > 0 }) selected = selected.Where(u => Kind.Contains(u.Kind));
        if (Available) selected = selected.Where(u => u.Available);
        var result = selected.ToList();
        if (ids is null) return result;

        var matched = new List<ComputeUnit>();
        foreach (var id in ids)
        {
            var pattern = new WildcardPattern(id, WildcardOptions.IgnoreCase);
            var hits = result.Where(u => pattern.IsMatch(u.Id)).ToList();
            if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(id))
            {
                var known = string.Join(", ", units.Select(u => u.Id));
                WriteError(ErrorMapping.Create(UnitErrorIds.UnitNotFound, ErrorKind.ObjectNotFound,
                    $"No compute unit '{id}' on {machineName}. Units there: {known}.", id));
            }
            matched.AddRange(hits.Where(h => !matched.Contains(h)));
        }
        return matched;
    }
}
