using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

/// <summary>
/// One machine of a cross-machine run, as the coordinator (<see cref="DistributedInference"/>) sees it: it can
/// describe its units, profile them, and run a slice of the batch. <see cref="LocalMachineRunner"/> is this machine,
/// in process; the PowerShell module implements it over a remoting session (SSH or WinRM) that calls
/// <see cref="RemoteEndpoint"/> on the other side. A runner is used by one call at a time.
/// </summary>
/// <remarks>
/// Failures: a <see cref="Errors.HeteroBatchException"/> raised on the machine comes back with its ErrorId; a machine
/// that goes away (session broken, process ended) raises <see cref="MachineFailedException"/>. Cancellation stops the
/// call as soon as the machine can be told.
/// </remarks>
public interface IMachineRunner : IDisposable
{
    /// <summary>How the caller reached the machine: a session's computer name, or <c>localhost</c>. Unit ids may name
    /// the machine by it as well as by the name the machine reports.</summary>
    string Address { get; }

    /// <summary>Fixed cost of one call to the machine (a round trip), milliseconds; 0 in process.</summary>
    double OverheadMs { get; }

    MachineDescription Describe(MachineQuery query, CancellationToken cancellationToken);

    IReadOnlyList<PerfEntry> Profile(ProfileRequest request, IProgress<ProfileProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Runs a slice. <paramref name="tensor"/> holds the slice's items for a tensor input (else null);
    /// <paramref name="itemsDone"/> hears how many of the slice's items are done, when the machine can tell.</summary>
    ShareResult Run(ShareRequest request, float[]? tensor, IProgress<int>? itemsDone, CancellationToken cancellationToken);
}
