using System.Management.Automation;
using HeteroBatch.Engine.Models;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>Lists the model zoo, or resolves zoo names and ONNX files to models (identity hash, shapes).</summary>
[Cmdlet(VerbsCommon.Get, "HeteroModel", DefaultParameterSetName = ListSet)]
[OutputType(typeof(ZooModelEntry), ParameterSetName = new[] { ListSet })]
[OutputType(typeof(ModelInfo), ParameterSetName = new[] { ResolveSet })]
public sealed class GetHeteroModelCommand : HeteroBatchCmdlet
{
    private const string ListSet = "List";
    private const string ResolveSet = "Resolve";

    /// <summary>Zoo names or paths of ONNX files to resolve; zoo networks are generated into the cache on first use.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ResolveSet)]
    [Alias("FullName", "Name")]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Model { get; set; } = Array.Empty<string>();

    /// <summary>List the zoo's networks with their shapes, parameter counts and whether they are cached (the default).</summary>
    [Parameter(ParameterSetName = ListSet)]
    public SwitchParameter ListAvailable { get; set; }

    /// <summary>Folder of generated zoo models; default: $env:HETEROBATCH_CACHE, else the user's cache folder.</summary>
    [Parameter]
    public string? CachePath { get; set; }

    protected override void ProcessRecord()
    {
        var cache = string.IsNullOrEmpty(CachePath) ? null : PerfTableCmdletSupport.ResolvePath(this, CachePath);
        if (ParameterSetName == ListSet)
        {
            WriteObject(RunEngine((_, _) => ModelZoo.GetEntries(cache)), enumerateCollection: true);
            return;
        }
        foreach (var name in Model)
        {
            var resolved = ModelArgument.Resolve(this, name);
            try
            {
                WriteObject(RunEngine((_, _) => ModelResolver.Resolve(resolved, cache), name));
            }
            catch (PipelineStoppedException) { throw; }
        }
    }
}
