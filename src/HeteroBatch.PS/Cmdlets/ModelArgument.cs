using System.Management.Automation;
using HeteroBatch.Engine.Models;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// -Model is a zoo name or a path. Paths resolve against PowerShell's current location (which can differ
/// from the process's); a bare word that is neither a zoo name nor an existing file stays as given, so the
/// engine's error lists the zoo names instead of a made-up path.
/// </summary>
internal static class ModelArgument
{
    public static string Resolve(PSCmdlet cmdlet, string nameOrPath)
    {
        if (ModelZoo.IsZooName(nameOrPath)) return nameOrPath;
        var full = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(nameOrPath);
        var looksLikePath = nameOrPath.IndexOfAny(new[] { '/', '\\' }) >= 0
            || nameOrPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || File.Exists(full);
        return looksLikePath ? full : nameOrPath;
    }
}
