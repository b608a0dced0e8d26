using System.Management.Automation;
using HeteroBatch.Engine.Execution;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>Remove-Module HeteroBatch gives back what the engine holds between runs: cached sessions (GPU memory) and the
/// units' worker threads (<see cref="EngineResources.Release"/>).</summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => EngineResources.Release();
}
