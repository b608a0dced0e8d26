namespace HeteroBatch.Engine.Profiling;

/// <summary>Stable ErrorIds of profiling (Measure-BatchProfile, a run's auto-profiling).</summary>
public static class ProfilingErrorIds
{
    /// <summary>Profile options out of range (repeats, warm-ups, tolerances, grid).</summary>
    public const string InvalidProfileOptions = "InvalidProfileOptions";
    /// <summary>The model's input cannot be fed with synthetic items (a free dimension other than the batch).</summary>
    public const string UnsupportedModelShape = "UnsupportedModelShape";
    /// <summary>The unit to profile is not available.</summary>
    public const string UnitUnavailable = "UnitUnavailable";
}
