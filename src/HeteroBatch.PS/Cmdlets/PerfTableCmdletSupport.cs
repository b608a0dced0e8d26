using System.Management.Automation;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>What the table cmdlets share: resolving -Path against PowerShell's current location.</summary>
internal static class PerfTableCmdletSupport
{
    public static PerfTableStore OpenStore(PSCmdlet cmdlet, string? path) =>
        new(string.IsNullOrEmpty(path) ? null : ResolvePath(cmdlet, path));

    /// <summary>Resolves a (possibly not yet existing) file path relative to the current PowerShell location.</summary>
    public static string ResolvePath(PSCmdlet cmdlet, string path) =>
        cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
}
