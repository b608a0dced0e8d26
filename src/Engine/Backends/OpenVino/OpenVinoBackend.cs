using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Backends.OpenVino;

/// <summary>
/// The OpenVINO seam. This build has no OpenVINO binding, so every session request reports NotInstalled;
/// a build that gains one replaces this class and <see cref="Units.OpenVino.OpenVinoUnitProvider"/>.
/// </summary>
public sealed class OpenVinoBackend : IInferenceBackend
{
    // Whether or not an OpenVINO runtime is installed, this build cannot use it: say that, not "not found".
    public const string NotSupportedMessage =
        "this build of HeteroBatch has no OpenVINO backend (the OpenVINO.CSharp.API package is not available to its build), so OpenVINO devices cannot run models; use the cpu and gpu units.";

    public string Name => BackendNames.OpenVino;

    public bool Supports(ComputeUnit unit) => string.Equals(unit.Backend, BackendNames.OpenVino, StringComparison.OrdinalIgnoreCase);

    public IInferenceSession CreateSession(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
        throw new HeteroBatchException(BackendErrorIds.OpenVinoNotInstalled, ErrorKind.NotInstalled,
            $"{unit.Id}: {char.ToUpperInvariant(NotSupportedMessage[0])}{NotSupportedMessage[1..]}", unit.Id);
}
