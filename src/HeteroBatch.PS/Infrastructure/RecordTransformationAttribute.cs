using System.Collections;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>
/// Accepts a record that has lost its .NET type on the way — deserialised from a remote session, from
/// ConvertFrom-Json, or given as JSON text — and rebuilds the engine record by property name.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class RecordTransformationAttribute(Type recordType) : ArgumentTransformationAttribute
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    public Type RecordType { get; } = recordType;

    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is null || RecordType.IsInstanceOfType(value)) return value!;
        // Only property bags and JSON objects are candidates; anything else (a float array on its way to
        // -InputObject) is left for the binder to try elsewhere.
        var candidate = value is PSCustomObject or IDictionary || (value is string s && s.TrimStart().StartsWith('{'));
        if (!candidate) return inputData;
        try
        {
            var json = value is string text ? text : JsonSerializer.Serialize(ToPlain(inputData), Options);
            return JsonSerializer.Deserialize(json, RecordType, Options)
                   ?? throw new ArgumentTransformationMetadataException($"Cannot read a {RecordType.Name} from null.");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            var json = value is string text ? text : SafeSerialize(inputData);
            throw new ArgumentTransformationMetadataException(Explain(RecordType, json, value is string, ex), ex);
        }
    }

    /// <summary>What went wrong and what to do, for the two mistakes met in practice: JSON cut short by
    /// ConvertTo-Json's default depth of 2, and a file piped line by line (Get-Content without -Raw).</summary>
    internal static string Explain(Type recordType, string? json, bool wasText, Exception ex)
    {
        string name = recordType.Name;
        if (json is not null && (TextWhereNestedValueBelongs(json, ex) ?? TruncatedValue(json)) is { } cut)
            return $"Cannot read a {name}: its JSON was cut short. ConvertTo-Json stops at depth 2 unless told otherwise, and wrote " +
                   $"{cut} in place of a nested list or object. Serialise it again with enough depth: " +
                   "... | ConvertTo-Json -Depth 6 | Set-Content plan.json.";
        if (wasText && !IsCompleteJson(json))
            return $"Cannot read a {name} from the text given: it is not a whole JSON object ({ex.Message}). " +
                   "To read a saved plan, use Get-Content -Raw: without -Raw each line of the file is piped on its own " +
                   "(Get-Content plan.json -Raw | Invoke-HeteroInference).";
        return $"Cannot read a {name} from the value given: {ex.Message} Pass the object Split-Batch returned, or its JSON " +
               "(saved with ConvertTo-Json -Depth 6).";
    }

    // ConvertTo-Json writes an object beyond its depth as the object's text: "System.Int32[]", "System.Object[]",
    // "HeteroBatch.Engine.Planning.UnitShare", or a hashtable's "@{Unit=cpu; ...}" / "System.Collections.Hashtable".
    private static readonly System.Text.RegularExpressions.Regex Truncated = new(
        "\"((?:System|HeteroBatch)\\.[A-Za-z0-9_.`]+(?:\\[\\])?|@\\{[^\"]*\\})\"", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static string? TruncatedValue(string json)
    {
        var m = Truncated.Match(json);
        return m.Success ? $"\"{m.Groups[1].Value}\"" : null;
    }

    private static readonly System.Text.RegularExpressions.Regex PathStep = new(@"\.([^.\[\]]+)|\[(\d+)\]", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    // Where the reader failed (JsonException.Path, e.g. $.Shares[0].ExecutedBatchSizes), a text value stands where
    // the record has a list or an object: ConvertTo-Json's mark of a value beyond its depth ("8 8 4" for an int[]).
    private static string? TextWhereNestedValueBelongs(string json, Exception ex)
    {
        if (ex is not JsonException { Path: { Length: > 1 } path }) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var element = doc.RootElement;
            foreach (System.Text.RegularExpressions.Match step in PathStep.Matches(path))
            {
                if (step.Groups[1].Success)
                {
                    if (element.ValueKind != JsonValueKind.Object) return null;
                    var name = step.Groups[1].Value;
                    var found = element.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
                    if (found.Name is null) return null;
                    element = found.Value;
                }
                else
                {
                    int index = int.Parse(step.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                    if (element.ValueKind != JsonValueKind.Array || index >= element.GetArrayLength()) return null;
                    element = element[index];
                }
            }
            return element.ValueKind == JsonValueKind.String ? $"the text \"{element.GetString()}\" at {path}" : null;
        }
        catch (JsonException) { return null; }
    }

    private static bool IsCompleteJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return false;
        try { using var _ = JsonDocument.Parse(json); return true; }
        catch (JsonException) { return false; }
    }

    private static string? SafeSerialize(object inputData)
    {
        try { return JsonSerializer.Serialize(ToPlain(inputData), Options); }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException) { return null; }
    }

    /// <summary>PSObjects, hashtables and arrays as plain dictionaries and lists, for the JSON serialiser.</summary>
    private static object? ToPlain(object? value, int depth = 0)
    {
        if (depth > 16) return null;
        if (value is PSObject pso)
        {
            if (pso.BaseObject is not PSCustomObject && pso.BaseObject is not null and (string or ValueType or Array or IDictionary))
                return ToPlain(pso.BaseObject, depth);
            var map = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            foreach (var p in pso.Properties)
            {
                if (p.MemberType is PSMemberTypes.NoteProperty or PSMemberTypes.Property)
                {
                    object? v;
                    try { v = p.Value; } catch (GetValueException) { continue; }
                    map[p.Name] = ToPlain(v, depth + 1);
                }
            }
            return map;
        }
        return value switch
        {
            null => null,
            string or bool or char => value,
            Enum e => e.ToString(),
            ValueType => value,
            IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => ToPlain(d[k], depth + 1)),
            IEnumerable list => list.Cast<object?>().Select(v => ToPlain(v, depth + 1)).ToList(),
            _ => ToPlain(PSObject.AsPSObject(value), depth + 1),
        };
    }
}
