using System.Collections;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.PS.Remoting;

/// <summary>
/// A machine reached through PowerShell remoting (an SSH or WinRM session): the HeteroBatch module is imported
/// there, and every operation is one remote command that calls the engine's <see cref="RemoteEndpoint"/> with a
/// JSON request (and a tensor as a byte[], which remoting sends as one base64 blob) and returns a JSON reply (and
/// the outputs as a byte[]). A session that breaks mid-call raises <see cref="MachineFailedException"/>, so the
/// coordinator re-runs the machine's items elsewhere.
/// </summary>
internal sealed class PowerShellMachineRunner : IMachineRunner
{
    // Waits in short steps so a stop request (Ctrl+C, cancellation) reaches the pipeline; finally cancels the work.
    private const string CallScript = """
        param([string] $Operation, [string] $Request, [byte[]] $Data)
        $call = [HeteroBatch.Engine.Distributed.RemoteEndpoint]::Start($Operation, $Request, $Data)
        $reported = -1
        try {
            while (-not $call.Wait(200)) {
                $done = $call.ItemsDone
                if ($done -ne $reported) { $reported = $done; Write-Progress -Id 1 -Activity 'HeteroBatch' -Status "$done" }
            }
            $call.Reply
        } finally { $call.Cancel() }
        """;

    private const string ImportScript = """
        $m = Get-Module HeteroBatch | Select-Object -First 1
        $err = $null
        if (-not $m) {
            try { $m = Import-Module HeteroBatch -PassThru -ErrorAction Stop | Select-Object -First 1 } catch { $err = $_.Exception.Message }
        }
        [pscustomobject]@{
            MachineName  = [Environment]::MachineName
            Found        = [bool]$m
            Version      = if ($m) { $m.Version.ToString() } else { '' }
            Path         = if ($m) { $m.Path } else { '' }
            Error        = $err
            LanguageMode = $ExecutionContext.SessionState.LanguageMode.ToString()
        }
        """;

    private readonly Runspace _runspace;
    private readonly IDisposable? _owner;
    private string _machineName;

    private PowerShellMachineRunner(Runspace runspace, string address, IDisposable? owner)
    {
        _runspace = runspace;
        _owner = owner;
        Address = address;
        _machineName = address;
    }

    public string Address { get; }

    /// <summary>The name the machine reports; its address until the module has been checked.</summary>
    public string MachineName => _machineName;

    public double OverheadMs { get; private set; }

    /// <summary>The version of this module, which every machine must have too.</summary>
    public static Version LocalVersion { get; } = Normalize(typeof(PowerShellMachineRunner).Assembly.GetName().Version);

    /// <summary>Wraps a caller's session (left open afterwards). Throws RemoteSessionBroken when it is not usable now.</summary>
    public static PowerShellMachineRunner FromSession(PSSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var runspace = session.Runspace;
        var state = runspace.RunspaceStateInfo.State;
        if (state != RunspaceState.Opened)
            throw new HeteroBatchException(DistributedErrorIds.RemoteSessionBroken, ErrorKind.ResourceUnavailable,
                $"The session to {session.ComputerName} (Id {session.Id}) is {state}, not open. Open a new one with New-PSSession and pass it to -Session.", session.ComputerName);
        if (runspace.RunspaceAvailability != RunspaceAvailability.Available)
            throw new HeteroBatchException(DistributedErrorIds.RemoteSessionBroken, ErrorKind.ResourceUnavailable,
                $"The session to {session.ComputerName} (Id {session.Id}) is busy ({runspace.RunspaceAvailability}); a session runs one command at a time. Wait for it, or use another session.", session.ComputerName);
        return new PowerShellMachineRunner(runspace, session.ComputerName, owner: null);
    }

    /// <summary>
    /// Opens an SSH session to <paramref name="hostName"/> (<c>host</c>, <c>user@host</c>, <c>user@host:port</c>) the way
    /// New-PSSession -HostName does, owned by the runner (closed by <see cref="Dispose"/>). Throws RemoteConnectionFailed.
    /// </summary>
    public static PowerShellMachineRunner ConnectSsh(string hostName, string? userName, string? keyFilePath, Hashtable? sshOptions, CancellationToken cancellationToken)
    {
        // A private local runspace creates the session; closing it (on Dispose) closes the session too.
        var local = PowerShell.Create();
        try
        {
            local.AddCommand("New-PSSession").AddParameter("HostName", hostName).AddParameter("ErrorAction", "Stop");
            if (!string.IsNullOrEmpty(userName)) local.AddParameter("UserName", userName);
            if (!string.IsNullOrEmpty(keyFilePath)) local.AddParameter("KeyFilePath", keyFilePath);
            if (sshOptions is { Count: > 0 }) local.AddParameter("Options", sshOptions);
            Collection<PSSession> sessions;
            using (cancellationToken.Register(() => { try { local.BeginStop(null, null); } catch (Exception) { } }))
            {
                try { sessions = local.Invoke<PSSession>(); }
                catch (Exception e) when (e is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw ConnectionFailed(hostName, e.Message, e);
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (sessions.Count != 1 || sessions[0] is null)
                throw ConnectionFailed(hostName, "New-PSSession returned no session", null);
            return new PowerShellMachineRunner(sessions[0].Runspace, hostName, local);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes sure the machine can take part: the module imports there (RemoteModuleNotFound), in the same version
    /// (RemoteModuleVersionMismatch), and the session allows calling it (RemoteSessionRestricted); then measures the
    /// round trip of one call.
    /// </summary>
    public void EnsureModule(CancellationToken cancellationToken)
    {
        var answer = InvokeScript(ImportScript, Array.Empty<object?>(), null, cancellationToken).LastOrDefault()
            ?? throw new MachineFailedException(Address, $"The session to {Address} answered nothing when asked for the HeteroBatch module.");
        _machineName = answer.Properties["MachineName"]?.Value as string is { Length: > 0 } name ? name : Address;
        bool found = answer.Properties["Found"]?.Value is true;
        if (!found)
        {
            var why = answer.Properties["Error"]?.Value as string;
            throw new HeteroBatchException(DistributedErrorIds.RemoteModuleNotFound, ErrorKind.NotInstalled,
                $"The HeteroBatch module cannot be imported on {Label()}{(string.IsNullOrEmpty(why) ? "" : $": {why}")} " +
                $"Install version {LocalVersion} there (copy the module folder into a folder on its $env:PSModulePath, or put a shared copy on that path), then try again.",
                Address);
        }
        var versionText = answer.Properties["Version"]?.Value as string ?? "";
        if (!Version.TryParse(versionText, out var version) || Normalize(version) != LocalVersion)
            throw new HeteroBatchException(DistributedErrorIds.RemoteModuleVersionMismatch, ErrorKind.NotInstalled,
                $"{Label()} has HeteroBatch {versionText} ({answer.Properties["Path"]?.Value}) but this machine has {LocalVersion}; every machine of a run needs the same version. Install {LocalVersion} there.",
                Address);
        var mode = answer.Properties["LanguageMode"]?.Value as string;
        if (!string.Equals(mode, "FullLanguage", StringComparison.OrdinalIgnoreCase))
            throw new HeteroBatchException(DistributedErrorIds.RemoteSessionRestricted, ErrorKind.InvalidOperation,
                $"The session to {Label()} runs in {mode} mode; HeteroBatch calls the engine there and needs FullLanguage. Use an endpoint without language restrictions.",
                Address);

        // The fixed cost of a call, for planning: the faster of two empty round trips.
        double best = double.PositiveInfinity;
        for (int i = 0; i < 2; i++)
        {
            var clock = Stopwatch.StartNew();
            InvokeScript("$null", Array.Empty<object?>(), null, cancellationToken);
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
        }
        OverheadMs = best;
    }

    public MachineDescription Describe(MachineQuery query, CancellationToken cancellationToken)
    {
        var description = Call<MachineDescription>(RemoteEndpoint.DescribeOperation, WireFormat.Serialize(query), null, null, cancellationToken).Value;
        _machineName = description.MachineName;
        return description;
    }

    public IReadOnlyList<PerfEntry> Profile(ProfileRequest request, IProgress<ProfileProgress>? progress, CancellationToken cancellationToken) =>
        Call<PerfEntry[]>(RemoteEndpoint.ProfileOperation, WireFormat.Serialize(request), null, null, cancellationToken).Value;

    public ShareResult Run(ShareRequest request, float[]? tensor, IProgress<int>? itemsDone, CancellationToken cancellationToken)
    {
        var (result, data) = Call<ShareResult>(RemoteEndpoint.RunOperation, WireFormat.Serialize(request),
            tensor is null ? null : WireFormat.ToBytes(tensor), itemsDone, cancellationToken);
        return result with { Output = WireFormat.ToFloats(data) };
    }

    public void Dispose()
    {
        if (_owner is null) return;   // a caller's session stays open
        try { _runspace.Dispose(); } catch (Exception) { }
        _owner.Dispose();
    }

    private (T Value, byte[]? Data) Call<T>(string operation, string json, byte[]? data, IProgress<int>? itemsDone, CancellationToken cancellationToken)
    {
        var output = InvokeScript(CallScript, new object?[] { operation, json, data }, itemsDone, cancellationToken);
        var reply = output.LastOrDefault()
            ?? throw new MachineFailedException(MachineName, $"{Label()} answered nothing to {operation}.");
        var text = reply.Properties["Json"]?.Value as string
            ?? throw new HeteroBatchException(DistributedErrorIds.RemoteProtocolError, ErrorKind.InvalidData,
                $"{Label()} answered {operation} with something other than a HeteroBatch reply. Use the same HeteroBatch version on every machine.", Address);
        var envelope = WireFormat.Deserialize<ReplyEnvelope<T>>(text);
        if (!envelope.Ok || envelope.Value is null)
            throw (envelope.Error ?? new WireError { ErrorId = DistributedErrorIds.RemoteProtocolError, Kind = ErrorKind.InvalidData, Message = "The reply has neither a value nor an error." })
                .ToException(MachineName);
        var bytes = reply.Properties["Data"]?.Value switch
        {
            byte[] b => b,
            PSObject { BaseObject: byte[] b } => b,
            _ => null,
        };
        return (envelope.Value, bytes);
    }

    /// <summary>Runs a script in the session; a broken session or any failure of the call becomes MachineFailed.</summary>
    private Collection<PSObject> InvokeScript(string script, object?[] arguments, IProgress<int>? itemsDone, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        foreach (var a in arguments) ps.AddArgument(a);
        if (itemsDone is not null)
        {
            ps.Streams.Progress.DataAdded += (sender, e) =>
            {
                if (sender is PSDataCollection<ProgressRecord> records && e.Index < records.Count
                    && int.TryParse(records[e.Index].StatusDescription, out var n)) itemsDone.Report(n);
            };
        }
        using var stop = cancellationToken.Register(() => { try { ps.BeginStop(null, null); } catch (Exception) { } });
        Collection<PSObject> output;
        try
        {
            output = ps.Invoke();
        }
        catch (Exception e) when (e is not HeteroBatchException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw Lost(e.Message, e);
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (ps.HadErrors && output.Count == 0)
        {
            var error = ps.Streams.Error.FirstOrDefault();
            throw Lost(error?.Exception?.Message ?? error?.ToString() ?? "the remote command failed", error?.Exception);
        }
        return output;
    }

    private MachineFailedException Lost(string why, Exception? inner)
    {
        var state = _runspace.RunspaceStateInfo.State;
        var what = state is RunspaceState.Broken or RunspaceState.Closed ? $"its session is {state.ToString().ToLowerInvariant()}" : "the call failed";
        return new MachineFailedException(MachineName, $"Machine {Label()} dropped out: {what} ({why.Trim()}).", inner);
    }

    private string Label() => string.Equals(MachineName, Address, StringComparison.OrdinalIgnoreCase) ? MachineName : $"{MachineName} ({Address})";

    private static HeteroBatchException ConnectionFailed(string hostName, string why, Exception? inner) =>
        new(DistributedErrorIds.RemoteConnectionFailed, ErrorKind.ResourceUnavailable,
            $"Cannot open an SSH session to '{hostName}': {why.Trim()} Check that the host is up and sshd runs there with a PowerShell subsystem " +
            "('Subsystem powershell /usr/bin/pwsh -sshs -NoLogo'), and that your key is accepted (ssh to it works without a password prompt).",
            hostName, inner);

    private static Version Normalize(Version? v) => v is null ? new Version(0, 0, 0) : new Version(v.Major, v.Minor, Math.Max(0, v.Build));
}
