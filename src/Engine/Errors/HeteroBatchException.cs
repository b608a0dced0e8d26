namespace HeteroBatch.Engine.Errors;

/// <summary>What kind of failure an engine exception is; cmdlets map it to an ErrorCategory.</summary>
public enum ErrorKind
{
    InvalidArgument,
    ObjectNotFound,
    InvalidData,
    InvalidOperation,
    ResourceUnavailable,
    NotInstalled,
    ReadError,
    WriteError,
    OperationStopped,
    LimitsExceeded,
    DeviceError,
}

/// <summary>
/// Base of every failure the engine reports on purpose. <see cref="ErrorId"/> is stable (tests and
/// scripts match on it); <see cref="Target"/> is the object at fault (a unit id, a path, a batch size).
/// </summary>
public class HeteroBatchException : Exception
{
    public HeteroBatchException(string errorId, ErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public ErrorKind Kind { get; }
    public object? Target { get; }
}
