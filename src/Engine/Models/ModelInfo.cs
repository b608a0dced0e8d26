namespace HeteroBatch.Engine.Models;

/// <summary>
/// A resolved model: a zoo network or an ONNX file, with the facts every stage needs. Its identity is
/// <see cref="Hash"/> (SHA-256 of the ONNX bytes, lower-case hex): the perf table keys on it, so a
/// table copied to another machine still matches the same model there.
/// </summary>
public sealed record ModelInfo
{
    /// <summary>Zoo name (<c>resnet-50</c>) or the file name without extension.</summary>
    public required string Name { get; init; }
    /// <summary>Full path of the ONNX file the sessions load (for a fixed-batch file, the rewritten copy).</summary>
    public required string Path { get; init; }
    public required string Hash { get; init; }
    /// <summary><c>zoo</c> or <c>file</c>.</summary>
    public required string Source { get; init; }
    public required string InputName { get; init; }
    /// <summary>Shape of one item, without the batch dimension (e.g. 3,224,224).</summary>
    public required int[] InputItemShape { get; init; }
    public required string OutputName { get; init; }
    /// <summary>Shape of one item's output, without the batch dimension (e.g. 1000).</summary>
    public required int[] OutputItemShape { get; init; }
    /// <summary>Largest batch the graph accepts; null when the batch dimension is symbolic.</summary>
    public int? MaxBatchSize { get; init; }
    /// <summary>Number of trainable parameters (initializer elements, BN running statistics excluded).</summary>
    public long ParameterCount { get; init; }
    /// <summary>The file the caller named (zoo: the generated file); differs from <see cref="Path"/> when a fixed-batch file was rewritten.</summary>
    public string? SourcePath { get; init; }
    /// <summary>
    /// How the batch dimension was handled, for display: null when the file already had a symbolic batch;
    /// otherwise why the copy at <see cref="Path"/> was rewritten, or why <see cref="MaxBatchSize"/> is 1.
    /// </summary>
    public string? BatchNote { get; init; }

    public int InputElementsPerItem => InputItemShape.Aggregate(1, (a, b) => a * b);
    public int OutputElementsPerItem => OutputItemShape.Aggregate(1, (a, b) => a * b);
    /// <summary>First 12 hex digits of the hash, for display.</summary>
    public string ShortHash => Hash.Length > 12 ? Hash[..12] : Hash;
}
