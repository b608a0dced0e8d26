using System.Runtime.InteropServices;

namespace HeteroBatch.Engine.Units.OpenVino;

/// <summary>Whether the OpenVINO C runtime can be loaded; injectable for tests.</summary>
public interface IOpenVinoRuntimeLocator
{
    bool IsRuntimePresent();
}

/// <summary>Looks for libopenvino_c.so / openvino_c.dll on the loader's search path.</summary>
public sealed class OpenVinoRuntimeLocator : IOpenVinoRuntimeLocator
{
    public static string LibraryName => OperatingSystem.IsWindows() ? "openvino_c.dll" : "libopenvino_c.so";

    public bool IsRuntimePresent() => NativeLibrary.TryLoad(LibraryName, out _);
}

/// <summary>
/// The OpenVINO seam. This build carries no OpenVINO binding (the OpenVINO.CSharp.API package is not
/// available), so it lists nothing when the runtime is absent, and when a runtime is present it lists one
/// unavailable unit so the user learns why it is not used.
/// </summary>
public sealed class OpenVinoUnitProvider : IComputeUnitProvider
{
    private readonly IOpenVinoRuntimeLocator _locator;

    public OpenVinoUnitProvider(IOpenVinoRuntimeLocator? locator = null)
    {
        _locator = locator ?? new OpenVinoRuntimeLocator();
    }

    /// <summary>The unit's reason: the runtime was found, what is missing is the backend of this build.</summary>
    public const string NotBuiltReason =
        "an OpenVINO runtime is installed, but this build of HeteroBatch has no OpenVINO backend " +
        "(the OpenVINO.CSharp.API package was not available to build it), so OpenVINO devices cannot run models";

    public string Family => "openvino";

    public IReadOnlyList<ComputeUnit> Discover()
    {
        if (!_locator.IsRuntimePresent()) return Array.Empty<ComputeUnit>();
        return new[]
        {
            new ComputeUnit
            {
                Id = "openvino:CPU",
                Kind = ComputeUnitKind.Accelerator,
                Backend = UnitBackends.OpenVino,
                Name = "OpenVINO runtime",
                Available = false,
                Reason = NotBuiltReason,
            },
        };
    }
}
