using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Backends.OpenVino;

/// <summary>
/// The OpenVINO seam. This build has no OpenVINO binding, so every session request reports NotInstalled;
/// a build that gains one replaces this class and <see cref="Units.OpenVino.OpenVinoUnitProvider"/>.
/// </summary>
public sealed class OpenVinoBackend : IInferenceBackend
{
    public const string NotSupportedMessage =
        "OpenVINO runtime not found; the OpenVINO.CSharp.API package is not available in this build.";

    public string Name => BackendNames.OpenVino;

    public bool Supports(ComputeUnit unit) => string.Equals(unit.Backend, BackendNames.OpenVino, StringComparison.OrdinalIgnoreCase);

    public IInferenceSession CreateSession(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
        throw new HeteroBatchException(BackendErrorIds.OpenVinoNotInstalled, ErrorKind.NotInstalled,
            $"{unit.Id}: {NotSupportedMessage}", unit.Id);
}
