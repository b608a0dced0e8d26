using Xunit;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>
/// Tests that fail a unit over the process-wide session cache evict its shared session (as a real failure does):
/// they run alone, so no test class running beside them finds the session it is using closed.
/// </summary>
[CollectionDefinition(nameof(SharedSessionEvictionCollection), DisableParallelization = true)]
public sealed class SharedSessionEvictionCollection { }
