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
            throw new ArgumentTransformationMetadataException(
                $"Cannot read a {RecordType.Name} from the value given: {ex.Message} Pass the object Split-Batch returned, or its JSON.", ex);
        }
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
