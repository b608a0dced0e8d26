using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

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
