namespace HeteroBatch.PS.Infrastructure;

/// <summary>Stable ErrorIds the cmdlets raise themselves (about their parameters), beside the engine's.</summary>
public static class CmdletErrorIds
{
    /// <summary>Invoke-HeteroInference has neither -Model nor a -Plan that names its model.</summary>
    public const string ModelMissing = "ModelMissing";
    /// <summary>Set-PerfTable -Remove without -Model or -Unit (it would remove the whole table).</summary>
    public const string RemoveNeedsFilter = "RemoveNeedsFilter";
}
