using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Distributed;

/// <summary>Stable ErrorIds of runs across machines. Scripts and tests match on these strings; never rename one.</summary>
public static class DistributedErrorIds
{
    /// <summary>An SSH (or WinRM) session to a host could not be opened: nothing listens, the key is refused, the host is down.</summary>
    public const string RemoteConnectionFailed = "RemoteConnectionFailed";
    /// <summary>A session given by the caller is not open (closed, broken, disconnected) or is busy with another command.</summary>
    public const string RemoteSessionBroken = "RemoteSessionBroken";
    /// <summary>The HeteroBatch module cannot be imported on the remote machine.</summary>
    public const string RemoteModuleNotFound = "RemoteModuleNotFound";
    /// <summary>The remote session restricts the language (constrained or no language), so the engine cannot be called there.</summary>
    public const string RemoteSessionRestricted = "RemoteSessionRestricted";
    /// <summary>The remote machine has another version of the module than this one.</summary>
    public const string RemoteModuleVersionMismatch = "RemoteModuleVersionMismatch";
    /// <summary>A machine dropped out during a run (its session broke, its process ended); its items are re-run elsewhere.</summary>
    public const string MachineFailed = "MachineFailed";
    /// <summary>Machines resolve the model to different files (different hashes).</summary>
    public const string ModelMismatch = "ModelMismatch";
    /// <summary>Two sessions lead to the same machine.</summary>
    public const string DuplicateMachine = "DuplicateMachine";
    /// <summary>A machine answered with something this version cannot read.</summary>
    public const string RemoteProtocolError = "RemoteProtocolError";
    /// <summary>A machine's work was cancelled (the run was stopped), as it crosses back.</summary>
    public const string OperationStopped = "OperationStopped";
    /// <summary>A machine failed with an error that is not HeteroBatch's own (its type and message are kept).</summary>
    public const string UnexpectedError = "UnexpectedError";
}

/// <summary>
/// ErrorId <c>MachineFailed</c>: a machine could not finish its part of a run because the machine itself went away
/// (its session broke, its PowerShell process ended, the network dropped). The coordinator re-runs its items on
/// the other machines, as the executor does for a failed unit.
/// </summary>
public sealed class MachineFailedException : HeteroBatchException
{
    public MachineFailedException(string machineName, string message, Exception? inner = null)
        : base(DistributedErrorIds.MachineFailed, ErrorKind.DeviceError, message, machineName, inner)
    {
        MachineName = machineName;
    }

    public string MachineName { get; }
}
