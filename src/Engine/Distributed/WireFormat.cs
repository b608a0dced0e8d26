using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

/// <summary>
/// How the messages of a cross-machine run are written: JSON with enum names, NaN/Infinity allowed (plans carry
/// them), property names as declared; tensors as raw float32 bytes in the machine's byte order (both ends are
/// little-endian .NET), which PowerShell remoting carries as one compact base64 blob, not an XML array.
/// </summary>
public static class WireFormat
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNameCaseInsensitive = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options)
                   ?? throw new JsonException("The message is empty.");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new HeteroBatchException(DistributedErrorIds.RemoteProtocolError, ErrorKind.InvalidData,
                $"A {typeof(T).Name} message could not be read: {e.Message} Use the same HeteroBatch version on every machine.", typeof(T).Name, e);
        }
    }

    /// <summary>The floats as bytes (one copy).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> values) => MemoryMarshal.AsBytes(values).ToArray();

    /// <summary>Bytes back to floats (one copy). Throws RemoteProtocolError when the length is not a whole number of floats.</summary>
    public static float[] ToFloats(byte[]? bytes)
    {
        if (bytes is null) return Array.Empty<float>();
        if (bytes.Length % sizeof(float) != 0)
            throw new HeteroBatchException(DistributedErrorIds.RemoteProtocolError, ErrorKind.InvalidData,
                $"A tensor of {bytes.Length} bytes arrived; float32 data comes in multiples of 4 bytes.", bytes.Length);
        var values = new float[bytes.Length / sizeof(float)];
        MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
        return values;
    }
}
