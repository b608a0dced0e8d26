using System.Management.Automation;

namespace HeteroBatch.PS.Infrastructure;

/// <summary>
/// An empty or blank text arrives as null: Export-Csv writes an unknown (null) number as an empty cell, and the binder
/// would otherwise read it back as 0, a known cost of nothing.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class EmptyAsNullAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value is string s && string.IsNullOrWhiteSpace(s) ? null : inputData;
    }
}
