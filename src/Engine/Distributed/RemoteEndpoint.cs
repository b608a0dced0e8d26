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

/// <summary>A failure as it crosses machines: enough to raise the same <see cref="HeteroBatchException"/> on the other side.</summary>
public sealed record WireError
{
    public required string ErrorId { get; init; }
    public ErrorKind Kind { get; init; }
    public required string Message { get; init; }
    public string? Target { get; init; }

    public static WireError From(Exception exception) => exception switch
    {
        HeteroBatchException hb => new WireError { ErrorId = hb.ErrorId, Kind = hb.Kind, Message = hb.Message, Target = TargetText(hb.Target) },
        OperationCanceledException => new WireError { ErrorId = "OperationStopped", Kind = ErrorKind.OperationStopped, Message = "The run was cancelled." },
        _ => new WireError { ErrorId = "UnexpectedError", Kind = ErrorKind.InvalidOperation, Message = $"{exception.GetType().Name}: {exception.Message}" },
    };

    public HeteroBatchException ToException(string machineName) =>
        ErrorId == DistributedErrorIds.MachineFailed
            ? new MachineFailedException(machineName, Message)
            : new HeteroBatchException(ErrorId, Kind, Message.Contains(machineName, StringComparison.OrdinalIgnoreCase) ? Message : $"On {machineName}: {Message}", Target);

    private static string? TargetText(object? target) => target switch
    {
        null => null,
        string s => s,
        System.Collections.IEnumerable list => string.Join(",", list.Cast<object?>()),
        _ => target.ToString(),
    };
}

/// <summary>The answer of a remote call: a JSON envelope (<c>{"Ok":true,"Value":...}</c> or <c>{"Ok":false,"Error":...}</c>)
/// and, for a run, the output floats as bytes.</summary>
public sealed class RemoteReply
{
    public required string Json { get; init; }
    public byte[]? Data { get; init; }
}

/// <summary>The JSON envelope of a <see cref="RemoteReply"/>.</summary>
public sealed record ReplyEnvelope<T>
{
    public bool Ok { get; init; }
    public T? Value { get; init; }
    public WireError? Error { get; init; }
}

/// <summary>
/// The entry point a remote caller invokes on this machine, through PowerShell remoting:
/// <code>
/// $call = [HeteroBatch.Engine.Distributed.RemoteEndpoint]::Start('Run', $json, $bytes)
/// try { while (-not $call.Wait(250)) { } ; $call.Reply } finally { $call.Cancel() }
/// </code>
/// The work runs on a worker thread so the calling pipeline can be stopped while it waits (the <c>finally</c>
/// cancels the work). Operations: <c>Describe</c> (<see cref="MachineQuery"/> → <see cref="MachineDescription"/>),
/// <c>Profile</c> (<see cref="ProfileRequest"/> → <see cref="PerfEntry"/>[]), <c>Run</c> (<see cref="ShareRequest"/>
/// plus the tensor bytes → <see cref="ShareResult"/> plus the output bytes). Errors come back in the envelope.
/// </summary>
public static class RemoteEndpoint
{
    public const string DescribeOperation = "Describe";
    public const string ProfileOperation = "Profile";
    public const string RunOperation = "Run";

    /// <summary>Starts <paramref name="operation"/> on a worker thread.</summary>
    public static RemoteCall Start(string operation, string requestJson, byte[]? data) => new(operation, requestJson, data);

    /// <summary>Runs <paramref name="operation"/> on the calling thread (for in-process use and tests).</summary>
    public static RemoteReply Invoke(string operation, string requestJson, byte[]? data, IProgress<int>? itemsDone = null,
        CancellationToken cancellationToken = default)
    {
        try
        {
            switch (operation)
            {
                case DescribeOperation:
                    return Reply(MachineShareService.Describe(WireFormat.Deserialize<MachineQuery>(requestJson), cancellationToken));
                case ProfileOperation:
                    return Reply(MachineShareService.Profile(WireFormat.Deserialize<ProfileRequest>(requestJson), null, cancellationToken).ToArray());
                case RunOperation:
                    var request = WireFormat.Deserialize<ShareRequest>(requestJson);
                    var tensor = data is null ? null : WireFormat.ToFloats(data);
                    var progress = itemsDone is null ? null : new ItemsProgress(itemsDone);
                    var result = MachineShareService.Run(request, tensor, progress, cancellationToken);
                    return new RemoteReply
                    {
                        Json = WireFormat.Serialize(new ReplyEnvelope<ShareResult> { Ok = true, Value = result }),
                        Data = WireFormat.ToBytes(result.Output),
                    };
                default:
                    throw new HeteroBatchException(DistributedErrorIds.RemoteProtocolError, ErrorKind.InvalidArgument,
                        $"Unknown operation '{operation}'; this machine knows {DescribeOperation}, {ProfileOperation} and {RunOperation}. Use the same HeteroBatch version on every machine.", operation);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new RemoteReply { Json = WireFormat.Serialize(new ReplyEnvelope<object> { Ok = false, Error = WireError.From(e) }) };
        }
    }

    private static RemoteReply Reply<T>(T value) => new() { Json = WireFormat.Serialize(new ReplyEnvelope<T> { Ok = true, Value = value }) };

    /// <summary>Counts items done from the pipeline's progress reports.</summary>
    private sealed class ItemsProgress(IProgress<int> itemsDone) : IProgress<ExecutionProgress>
    {
        public void Report(ExecutionProgress value)
        {
            if (value.Stage == ExecutionStage.Executing) itemsDone.Report(value.ItemsDone);
        }
    }
}

/// <summary>A remote operation running on a worker thread of this machine; see <see cref="RemoteEndpoint"/>.</summary>
public sealed class RemoteCall
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly Task<RemoteReply> _task;
    private int _itemsDone;

    internal RemoteCall(string operation, string requestJson, byte[]? data)
    {
        var progress = new Progress(this);
        _task = Task.Factory.StartNew(() => RemoteEndpoint.Invoke(operation, requestJson, data, progress, _cancel.Token),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Items of the slice done so far (a run), for progress.</summary>
    public int ItemsDone => Volatile.Read(ref _itemsDone);

    public bool IsCompleted => _task.IsCompleted;

    /// <summary>Waits up to <paramref name="milliseconds"/>; true when the operation has finished.</summary>
    public bool Wait(int milliseconds) => _task.Wait(milliseconds);

    /// <summary>The answer; waits for it.</summary>
    public RemoteReply Reply => _task.GetAwaiter().GetResult();

    /// <summary>Stops the operation (no effect once it has finished).</summary>
    public void Cancel()
    {
        if (!_task.IsCompleted) _cancel.Cancel();
    }

    private sealed class Progress(RemoteCall call) : IProgress<int>
    {
        public void Report(int value) => Volatile.Write(ref call._itemsDone, value);
    }
}
