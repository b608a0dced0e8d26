namespace HeteroBatch.Engine.Execution;

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
