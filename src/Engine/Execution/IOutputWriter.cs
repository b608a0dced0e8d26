namespace HeteroBatch.Engine.Execution;

/// <summary>
/// The one channel through which the engine tells its caller what it does: what it decided and why (verbose), what
/// went wrong but was handled (warnings), and how far it is (progress). The cmdlets implement it over PowerShell's
/// streams (-Verbose shows the units chosen and skipped, profiling, the plan and its predicted time, warm-ups and their
/// cost, re-plans, table writes); the engine writes nowhere else (no Trace, no console). Called from any thread.
/// </summary>
public interface IOutputWriter
{
    void WriteVerbose(string message);
    void WriteWarning(string message);
    void WriteProgress(ExecutionProgress progress);
}
