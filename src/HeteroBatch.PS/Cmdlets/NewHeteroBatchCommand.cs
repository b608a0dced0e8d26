using System.Management.Automation;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Loads a batch once, shaped for a model, into a reusable pinned buffer: from images or .npy files, a seeded
/// synthetic batch, or a float array. Pass it to Invoke-HeteroInference -Batch as often as needed: each call
/// runs it as it is (no reading, no copy), and a GPU copies it by DMA from the second call on.
/// </summary>
[Cmdlet(VerbsCommon.New, "HeteroBatch", DefaultParameterSetName = SyntheticSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(BatchInput))]
public sealed class NewHeteroBatchCommand : HeteroBatchCmdlet
{
    private const string SyntheticSet = "Synthetic";
    private const string FilesSet = "Files";
    private const string TensorSet = "Tensor";

    /// <summary>Zoo name or ONNX file whose input the batch is shaped for (item shape, image size).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>Items of a seeded synthetic batch (default 32).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = SyntheticSet)]
    [ValidateRange(1, int.MaxValue)]
    public int BatchSize { get; set; } = 32;

    /// <summary>Seed of the synthetic batch; same seed, same values (as Invoke-HeteroInference -Seed).</summary>
    [Parameter(ParameterSetName = SyntheticSet)]
    public int Seed { get; set; }

    /// <summary>Images (resized and normalised as ImageNet models expect) or .npy tensors: files or folders.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FilesSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] InputPath { get; set; } = Array.Empty<string>();

    /// <summary>A flat float array (item-major), copied once into the batch's buffer; -InputShape gives its shape.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TensorSet)]
    public float[]? InputObject { get; set; }

    /// <summary>Shape of -InputObject, batch first (e.g. 8,3,224,224); default: the model's item shape.</summary>
    [Parameter(ParameterSetName = TensorSet)]
    public int[]? InputShape { get; set; }

    protected override void ProcessRecord()
    {
        var modelArgument = ModelArgument.Resolve(this, Model);
        InputSource source = ParameterSetName switch
        {
            FilesSet => InputSource.Files(InputPath.Select(p => PerfTableCmdletSupport.ResolvePath(this, p)).ToArray()),
            TensorSet => InputSource.FromArray(InputObject!, InputShape),
            _ => InputSource.Synthetic(BatchSize, Seed),
        };
        // A loaded batch holds the whole input in pinned memory (page-locked where a GPU is used) until it is released: a change of state.
        var what = ParameterSetName switch
        {
            FilesSet => $"{InputPath.Length} input path(s)",
            TensorSet => "the given tensor",
            _ => $"a synthetic batch of {BatchSize} items (seed {Seed})",
        };
        if (!ShouldProcess($"{Model}: {what}", "Load the batch into memory")) return;
        var batch = RunEngine((_, ct) =>
        {
            var model = ModelResolver.Resolve(modelArgument, null, null, ct);
            var loaded = BatchInputLoader.Load(source, model, ct);
            return BatchInputLoader.Keep(loaded);
        }, Model);
        WriteObject(batch);
    }
}
