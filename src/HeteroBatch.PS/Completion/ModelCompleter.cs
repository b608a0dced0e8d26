using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HeteroBatch.Engine.Models;

namespace HeteroBatch.PS.Completion;

/// <summary>Completes -Model with zoo names and *.onnx files.</summary>
public sealed class ModelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        foreach (var name in ModelZoo.Names.Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase)))
        {
            yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, "zoo network " + name);
        }
        foreach (var path in OnnxFiles(word))
        {
            var text = path.Contains(' ') ? "'" + path + "'" : path;
            yield return new CompletionResult(text, Path.GetFileName(path), CompletionResultType.ProviderItem, path);
        }
    }

    private static IEnumerable<string> OnnxFiles(string word)
    {
        string directory, prefix;
        try
        {
            var sep = word.LastIndexOfAny(new[] { '/', '\\' });
            directory = sep >= 0 ? word[..(sep + 1)] : "";
            prefix = sep >= 0 ? word[(sep + 1)..] : word;
            var searchIn = directory.Length == 0 ? Directory.GetCurrentDirectory() : Path.GetFullPath(directory);
            if (!Directory.Exists(searchIn)) return Array.Empty<string>();
            var dirs = Directory.EnumerateDirectories(searchIn, prefix + "*").Select(d => directory + Path.GetFileName(d) + Path.DirectorySeparatorChar);
            var files = Directory.EnumerateFiles(searchIn, prefix + "*.onnx").Select(f => directory + Path.GetFileName(f));
            return files.Concat(dirs).OrderBy(p => p, StringComparer.OrdinalIgnoreCase).Take(100).ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Array.Empty<string>();
        }
    }
}
