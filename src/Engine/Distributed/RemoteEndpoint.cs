using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

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
