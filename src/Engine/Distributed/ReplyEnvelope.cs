using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

/// <summary>The JSON envelope of a <see cref="RemoteReply"/>.</summary>
public sealed record ReplyEnvelope<T>
{
    public bool Ok { get; init; }
    public T? Value { get; init; }
    public WireError? Error { get; init; }
}
