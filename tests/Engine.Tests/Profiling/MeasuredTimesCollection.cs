using Xunit;

namespace HeteroBatch.Engine.Tests.Profiling;

/// <summary>
/// Tests that check times the profiler measured on real sessions (against each other or a bound) run alone: with
/// other test classes beside them on a 2-core CI machine, a 0.3 ms tinynet run was timed at 2 ms, which measured the
/// suite's load rather than the profiler.
/// </summary>
[CollectionDefinition(nameof(MeasuredTimesCollection), DisableParallelization = true)]
public sealed class MeasuredTimesCollection { }
