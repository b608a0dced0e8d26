using System.Management.Automation;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>Turns engine exceptions into ErrorRecords: stable ErrorId, fitting category, no stack trace.</summary>
internal static class ErrorMapping
{
    public static ErrorCategory ToCategory(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        ErrorKind.InvalidData => ErrorCategory.InvalidData,
        ErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        ErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        ErrorKind.NotInstalled => ErrorCategory.NotInstalled,
        ErrorKind.ReadError => ErrorCategory.ReadError,
        ErrorKind.WriteError => ErrorCategory.WriteError,
        ErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        ErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
        ErrorKind.DeviceError => ErrorCategory.DeviceError,
        _ => ErrorCategory.NotSpecified,
    };

    public static ErrorRecord ToErrorRecord(Exception exception, object? target = null)
    {
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate) exception = aggregate.InnerExceptions[0];
        if (exception is HeteroBatchException hb)
        {
            return new ErrorRecord(hb, hb.ErrorId, ToCategory(hb.Kind), hb.Target ?? target);
        }
        // Anything the engine did not anticipate still reaches the user as one clear line, not a stack trace.
        var wrapped = new InvalidOperationException($"{exception.GetType().Name}: {exception.Message}", exception);
        return new ErrorRecord(wrapped, "UnexpectedError", ErrorCategory.NotSpecified, target);
    }

    /// <summary>An ErrorRecord for a failure the cmdlet itself detects, shaped as the engine's are.</summary>
    public static ErrorRecord Create(string errorId, ErrorKind kind, string message, object? target = null)
        => ToErrorRecord(new HeteroBatchException(errorId, kind, message, target), target);
}
