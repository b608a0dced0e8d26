using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

/// <summary>This machine as one machine of a cross-machine run, in process (unit ids <c>localhost/cpu</c> or
/// <c>thismachine/gpu0</c>): the same <see cref="MachineShareService"/> a remote machine runs, without the wire.</summary>
public sealed class LocalMachineRunner : IMachineRunner
{
    public string Address => "localhost";

    public double OverheadMs => 0;

    public MachineDescription Describe(MachineQuery query, CancellationToken cancellationToken) =>
        MachineShareService.Describe(query, cancellationToken);

    public IReadOnlyList<PerfEntry> Profile(ProfileRequest request, IProgress<ProfileProgress>? progress, CancellationToken cancellationToken) =>
        MachineShareService.Profile(request, progress, cancellationToken);

    public ShareResult Run(ShareRequest request, float[]? tensor, IProgress<int>? itemsDone, CancellationToken cancellationToken) =>
        MachineShareService.Run(request, tensor, itemsDone is null ? null : new ItemsProgress(itemsDone), cancellationToken);

    public void Dispose() { }

    private sealed class ItemsProgress(IProgress<int> itemsDone) : IProgress<ExecutionProgress>
    {
        public void Report(ExecutionProgress value)
        {
            if (value.Stage == ExecutionStage.Executing) itemsDone.Report(value.ItemsDone);
        }
    }
}
