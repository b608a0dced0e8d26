using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

/// <summary>The answer of a remote call: a JSON envelope (<c>{"Ok":true,"Value":...}</c> or <c>{"Ok":false,"Error":...}</c>)
/// and, for a run, the output floats as bytes.</summary>
public sealed class RemoteReply
{
    public required string Json { get; init; }
    public byte[]? Data { get; init; }
}
