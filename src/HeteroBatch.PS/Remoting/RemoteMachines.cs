using System.Collections;
using System.Management.Automation.Runspaces;
using HeteroBatch.Engine.Distributed;

namespace HeteroBatch.PS.Remoting;

/// <summary>How the cmdlets reach other machines: the caller's sessions and/or SSH hosts.</summary>
internal sealed record RemoteTargets
{
    /// <summary>Open sessions (New-PSSession, SSH or WinRM); left open afterwards.</summary>
    public IReadOnlyList<PSSession> Sessions { get; init; } = Array.Empty<PSSession>();
    /// <summary>SSH hosts (<c>host</c>, <c>user@host</c>, <c>user@host:port</c>); sessions are opened for the command and closed after it.</summary>
    public IReadOnlyList<string> HostNames { get; init; } = Array.Empty<string>();
    public string? UserName { get; init; }
    public string? KeyFilePath { get; init; }
    public Hashtable? SshOptions { get; init; }
}

/// <summary>The machines of one command, ready to use: sessions checked (or opened) and the module imported on each.</summary>
internal sealed class RemoteMachines : IDisposable
{
    private readonly List<IMachineRunner> _runners;

    private RemoteMachines(List<IMachineRunner> runners) => _runners = runners;

    public IReadOnlyList<IMachineRunner> Runners => _runners;

    /// <summary>
    /// Checks every session and opens every host, at the same time, then imports the module on each. Throws the first
    /// failure (RemoteSessionBroken, RemoteConnectionFailed, RemoteModuleNotFound, RemoteModuleVersionMismatch, …),
    /// after closing what it opened.
    /// </summary>
    public static RemoteMachines Open(RemoteTargets targets, CancellationToken cancellationToken)
    {
        var opened = new IMachineRunner?[targets.Sessions.Count + targets.HostNames.Count];
        try
        {
            // One thread per machine: each mostly waits for its machine.
            var tasks = Enumerable.Range(0, opened.Length).Select(i => Task.Factory.StartNew(() =>
            {
                var runner = i < targets.Sessions.Count
                    ? PowerShellMachineRunner.FromSession(targets.Sessions[i])
                    : PowerShellMachineRunner.ConnectSsh(targets.HostNames[i - targets.Sessions.Count], targets.UserName, targets.KeyFilePath, targets.SshOptions, cancellationToken);
                opened[i] = runner;
                runner.EnsureModule(cancellationToken);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            try { Task.WaitAll(tasks); }
            catch (AggregateException) { }
            var failed = tasks.FirstOrDefault(t => t.IsFaulted);
            if (failed is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failed.Exception!.InnerExceptions[0]).Throw();
            cancellationToken.ThrowIfCancellationRequested();
            return new RemoteMachines(opened.Select(r => r!).ToList());
        }
        catch
        {
            foreach (var r in opened) r?.Dispose();
            throw;
        }
    }

    /// <summary>Adds this machine, in process (for unit ids such as <c>localhost/cpu</c>).</summary>
    public void AddLocal() => _runners.Add(new LocalMachineRunner());

    public void Dispose()
    {
        foreach (var r in _runners) r.Dispose();
    }
}
