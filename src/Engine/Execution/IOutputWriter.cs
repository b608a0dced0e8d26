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

/// <summary>Writers for callers that want less than the whole channel.</summary>
public static class OutputWriters
{
    /// <summary>Writes nothing.</summary>
    public static IOutputWriter None { get; } = new ProgressWriter(null);

    /// <summary>Only the progress, to <paramref name="progress"/> (null: nothing).</summary>
    public static IOutputWriter ProgressOnly(IProgress<ExecutionProgress>? progress) => progress is null ? None : new ProgressWriter(progress);

    /// <summary>The progress part of <paramref name="output"/>, for code that reports progress only.</summary>
    public static IProgress<ExecutionProgress> AsProgress(this IOutputWriter output) => new ProgressOf(output);

    private sealed class ProgressWriter(IProgress<ExecutionProgress>? progress) : IOutputWriter
    {
        public void WriteVerbose(string message) { }
        public void WriteWarning(string message) { }
        public void WriteProgress(ExecutionProgress value) => progress?.Report(value);
    }

    private sealed class ProgressOf(IOutputWriter output) : IProgress<ExecutionProgress>
    {
        public void Report(ExecutionProgress value) => output.WriteProgress(value);
    }
}
