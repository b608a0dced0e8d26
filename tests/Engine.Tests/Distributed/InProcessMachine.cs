using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Distributed;

/// <summary>
/// A "machine" of a cross-machine run inside the test process: every call goes through the same JSON and bytes a
/// remote session carries (<see cref="RemoteEndpoint.Invoke"/>), and the answers are renamed to <see cref="Name"/>,
/// so several of them stand for several machines. Real remoting over SSH is tested by tests/Pester/Remoting.Tests.ps1.
/// </summary>
internal sealed class InProcessMachine(string name) : IMachineRunner
{
    private int _runs;

    public string Name { get; } = name;
    public string Address => Name.ToLowerInvariant() + ".test";
    public double OverheadMs => 0;
    /// <summary>Called before each run; throw from it to make the machine fail (e.g. drop out on its first run).</summary>
    public Action<ShareRequest, int>? BeforeRun { get; init; }
    public int Runs => _runs;
    public List<ShareRequest> Requests { get; } = new();
    /// <summary>Bytes of tensor data sent to this machine.</summary>
    public long TensorBytes { get; private set; }

    public MachineDescription Describe(MachineQuery query, CancellationToken cancellationToken)
    {
        var d = Call<MachineDescription>(RemoteEndpoint.DescribeOperation, WireFormat.Serialize(query), null, cancellationToken).Value;
        return d with { MachineName = Name, Units = d.Units.Select(u => u with { MachineName = Name }).ToArray() };
    }

    public IReadOnlyList<PerfEntry> Profile(ProfileRequest request, IProgress<ProfileProgress>? progress, CancellationToken cancellationToken) =>
        Call<PerfEntry[]>(RemoteEndpoint.ProfileOperation, WireFormat.Serialize(request), null, cancellationToken).Value
            .Select(r => r with { MachineName = Name }).ToArray();

    public ShareResult Run(ShareRequest request, float[]? tensor, IProgress<int>? itemsDone, CancellationToken cancellationToken)
    {
        int run = Interlocked.Increment(ref _runs);
        lock (Requests) Requests.Add(request);
        BeforeRun?.Invoke(request, run);
        var bytes = tensor is null ? null : WireFormat.ToBytes(tensor);
        TensorBytes += bytes?.Length ?? 0;
        var (result, data) = Call<ShareResult>(RemoteEndpoint.RunOperation, WireFormat.Serialize(request), bytes, cancellationToken);
        return result with
        {
            MachineName = Name,
            Output = WireFormat.ToFloats(data),
            Measured = result.Measured.Select(r => r with { MachineName = Name }).ToArray(),
        };
    }

    public void Dispose() { }

    private (T Value, byte[]? Data) Call<T>(string operation, string json, byte[]? data, CancellationToken cancellationToken)
    {
        var reply = RemoteEndpoint.Invoke(operation, json, data, null, cancellationToken);
        var envelope = WireFormat.Deserialize<ReplyEnvelope<T>>(reply.Json);
        if (!envelope.Ok) throw envelope.Error!.ToException(Name);
        return (envelope.Value!, reply.Data);
    }
}
