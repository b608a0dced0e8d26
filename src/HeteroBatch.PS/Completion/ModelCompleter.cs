using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HeteroBatch.Engine.Models;

namespace HeteroBatch.PS.Completion;

/// <summary>
/// Completes -Model with zoo names and with the <c>.onnx</c> files and folders of the path typed so far, relative to
/// PowerShell's current location ($PWD, which can differ from the process's working directory). Other files are
/// not offered.
/// </summary>
public sealed class ModelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = wordToComplete ?? "";
        var word = typed.Trim('\'', '"');
        var results = new List<CompletionResult>();
        if (word.IndexOfAny(new[] { '/', '\\' }) < 0)
        {
            foreach (var name in ModelZoo.Names.Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase)))
                results.Add(new CompletionResult(name, name, CompletionResultType.ParameterValue, "zoo network " + name));
        }
        results.AddRange(OnnxFilesAndFolders(typed));
        return results;
    }

    /// <summary>
    /// PowerShell's own file-name completion (current location, provider paths, quoting), kept to folders and
    /// .onnx files. Completion must never throw: any failure offers no paths.
    /// </summary>
    private static IEnumerable<CompletionResult> OnnxFilesAndFolders(string typed)
    {
        try
        {
            return CompletionCompleters.CompleteFilename(typed)
                .Where(r => r.ResultType == CompletionResultType.ProviderContainer
                            || (r.ResultType == CompletionResultType.ProviderItem
                                && r.CompletionText.Trim('\'', '"').EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)))
                .OrderBy(r => r.ResultType == CompletionResultType.ProviderContainer ? 1 : 0)
                .Take(100)
                .ToList();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
