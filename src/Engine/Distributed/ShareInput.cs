using System.Text.Json.Serialization;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.Engine.Distributed;

/// <summary>Where one machine's items come from, without the items themselves unless they are a caller's tensor.</summary>
public sealed record ShareInput
{
    public const string SyntheticKind = "Synthetic";
    public const string FilesKind = "Files";
    public const string TensorKind = "Tensor";

    /// <summary><see cref="SyntheticKind"/>, <see cref="FilesKind"/> or <see cref="TensorKind"/>.</summary>
    public required string Kind { get; init; }
    /// <summary>Synthetic: the whole batch's size and seed (the machine generates its items of it).</summary>
    public int BatchSize { get; init; }
    public int Seed { get; init; }
    /// <summary>Files: full paths, readable on the machine (shared storage), in batch order.</summary>
    public string[] Files { get; init; } = Array.Empty<string>();
    /// <summary>First item within the synthetic batch or the files' items.</summary>
    public int FirstItem { get; init; }
    public required int Count { get; init; }
    /// <summary>Tensor: the items' shape (without the batch dimension); the floats come as bytes beside the message.</summary>
    public int[] ItemShape { get; init; } = Array.Empty<int>();

    /// <summary>The input source this describes; <paramref name="tensor"/> holds the items of a tensor input.</summary>
    public InputSource ToSource(float[]? tensor) => Kind switch
    {
        SyntheticKind => InputSource.Range(InputSource.Synthetic(BatchSize, Seed), FirstItem, Count),
        FilesKind => InputSource.Range(InputSource.Files(Files), FirstItem, Count),
        TensorKind => InputSource.FromArray(tensor ?? throw new Errors.HeteroBatchException(DistributedErrorIds.RemoteProtocolError, Errors.ErrorKind.InvalidData,
            "A tensor share arrived without its data.", Kind), new[] { Count }.Concat(ItemShape).ToArray()),
        _ => throw new Errors.HeteroBatchException(DistributedErrorIds.RemoteProtocolError, Errors.ErrorKind.InvalidData, $"Unknown input kind '{Kind}'.", Kind),
    };
}
