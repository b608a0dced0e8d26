namespace HeteroBatch.Engine.Streaming;

/// <summary>Stable ErrorIds of dataset streaming (the input ErrorIds of <see cref="Execution.ExecutionErrorIds"/> apply too). Never rename one.</summary>
public static class StreamingErrorIds
{
    /// <summary>-Resume was given an output .npy that does not fit the run: another model's output shape, or more rows than the dataset has items.</summary>
    public const string ResumeMismatch = "ResumeMismatch";
    /// <summary>A stream setting is out of range: batch size, items in flight, decode workers.</summary>
    public const string InvalidStreamSetting = "InvalidStreamSetting";
    /// <summary>Every item of the dataset was bad: nothing could be decoded.</summary>
    public const string NoGoodItems = "NoGoodItems";
}
