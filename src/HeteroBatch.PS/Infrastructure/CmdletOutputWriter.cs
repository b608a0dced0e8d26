using System.Management.Automation;
using HeteroBatch.Engine.Execution;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>
/// The engine's output channel (<see cref="IOutputWriter"/>) on a cmdlet's streams: verbose and warning text is handed
/// to the pipeline thread (the only one PowerShell lets write) through <paramref name="post"/>; progress goes to
/// <paramref name="progress"/>, which formats (and throttles) the cmdlet's progress records.
/// </summary>
internal sealed class CmdletOutputWriter(Cmdlet cmdlet, Action<Action> post, IProgress<ExecutionProgress> progress) : IOutputWriter
{
    public void WriteVerbose(string message) => post(() => cmdlet.WriteVerbose(message));

    public void WriteWarning(string message) => post(() => cmdlet.WriteWarning(message));

    public void WriteProgress(ExecutionProgress value) => progress.Report(value);
}
