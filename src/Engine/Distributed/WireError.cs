using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Distributed;

/// <summary>A failure as it crosses machines: enough to raise the same <see cref="HeteroBatchException"/> on the other side.</summary>
public sealed record WireError
{
    public required string ErrorId { get; init; }
    public ErrorKind Kind { get; init; }
    public required string Message { get; init; }
    public string? Target { get; init; }

    public static WireError From(Exception exception) => exception switch
    {
        HeteroBatchException hb => new WireError { ErrorId = hb.ErrorId, Kind = hb.Kind, Message = hb.Message, Target = TargetText(hb.Target) },
        OperationCanceledException => new WireError { ErrorId = DistributedErrorIds.OperationStopped, Kind = ErrorKind.OperationStopped, Message = "The run was cancelled." },
        _ => new WireError { ErrorId = DistributedErrorIds.UnexpectedError, Kind = ErrorKind.InvalidOperation, Message = $"{exception.GetType().Name}: {exception.Message}" },
    };

    public HeteroBatchException ToException(string machineName) =>
        ErrorId == DistributedErrorIds.MachineFailed
            ? new MachineFailedException(machineName, Message)
            : new HeteroBatchException(ErrorId, Kind, Message.Contains(machineName, StringComparison.OrdinalIgnoreCase) ? Message : $"On {machineName}: {Message}", Target);

    private static string? TargetText(object? target) => target switch
    {
        null => null,
        string s => s,
        System.Collections.IEnumerable list => string.Join(",", list.Cast<object?>()),
        _ => target.ToString(),
    };
}
