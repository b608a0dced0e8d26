using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Inputs;

namespace HeteroBatch.Engine.Execution;

/// <summary>One of an item's k best classes.</summary>
public sealed record TopKPrediction
{
    /// <summary>Item index in the batch.</summary>
    public required int Item { get; init; }
    /// <summary>Where the item came from (file name), when known.</summary>
    public string? Source { get; init; }
    /// <summary>1 for the best class.</summary>
    public required int Rank { get; init; }
    public required int ClassIndex { get; init; }
    /// <summary>Softmax probability of the class (the model's own value when it already outputs probabilities).</summary>
    public required float Score { get; init; }
}

/// <summary>
/// The output tensor of a batch run, [N, ...item output shape], in the batch's item order. Kept apart from
/// the printable <see cref="InferenceResult"/>; reach it through <see cref="InferenceResult.GetOutput"/>.
/// </summary>
public sealed class BatchOutput
{
    private readonly float[] _data;

    internal BatchOutput(float[] data, int count, int[] itemShape, IReadOnlyList<string>? sources)
    {
        _data = data;
        Count = count;
        ItemShape = itemShape;
        ElementsPerItem = itemShape.Aggregate(1, (a, b) => a * b);
        Sources = sources;
    }

    public int Count { get; }
    public int[] ItemShape { get; }
    public int ElementsPerItem { get; }
    /// <summary>Shape of the whole tensor, N first.</summary>
    public int[] Shape => new[] { Count }.Concat(ItemShape).ToArray();
    /// <summary>Where each item came from (input file names), or null.</summary>
    public IReadOnlyList<string>? Sources { get; }

    /// <summary>The whole tensor, item-major, without copying.</summary>
    public ReadOnlyMemory<float> Data => new(_data, 0, Count * ElementsPerItem);

    /// <summary>One item's output, without copying.</summary>
    public ReadOnlySpan<float> Item(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        return new ReadOnlySpan<float>(_data, index * ElementsPerItem, ElementsPerItem);
    }

    /// <summary>The tensor as an ONNX Runtime <see cref="Microsoft.ML.OnnxRuntime.Tensors.DenseTensor{T}"/> of shape [N, ...], over the same memory (no copy).</summary>
    public Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float> ToTensor() => new(new Memory<float>(_data, 0, Count * ElementsPerItem), Shape);

    /// <summary>A copy of the whole tensor as a flat float[] (item-major).</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>Writes the tensor as a float32 .npy of shape [N, ...] atomically (never a partial file). Throws <c>OutputWriteFailed</c>.</summary>
    public void SaveNpy(string path) => NpyFile.Write(path, Data.Span, Shape);

    /// <summary>True when each item's output is one vector of class scores (shape [C] or [1,..,1,C], C ≥ 2).</summary>
    public bool IsClassifier => ItemShape.Length >= 1 && ItemShape[^1] >= 2 && ItemShape[..^1].All(d => d == 1);

    /// <summary>
    /// The <paramref name="k"/> best classes of every item, item by item and best first, with softmax scores.
    /// Outputs that already are probabilities (non-negative, summing to 1) are taken as they are. Throws
    /// <c>NotAClassifier</c> when the output is not one score vector per item.
    /// </summary>
    public IReadOnlyList<TopKPrediction> TopK(int k = 5)
    {
        if (!IsClassifier)
            throw new HeteroBatchException(ExecutionErrorIds.NotAClassifier, ErrorKind.InvalidOperation,
                $"Top-k needs one vector of class scores per item, but the output items have shape [{string.Join(",", ItemShape)}]. Use the raw output instead.", ItemShape);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), "k must be positive.");
        k = Math.Min(k, ElementsPerItem);
        var result = new List<TopKPrediction>(Count * k);
        var probabilities = new float[ElementsPerItem];
        var order = new int[ElementsPerItem];
        for (int item = 0; item < Count; item++)
        {
            Scores(Item(item), probabilities);
            for (int i = 0; i < order.Length; i++) order[i] = i;
            // Stable: among equal scores the lower class index ranks first.
            var ranked = order.OrderByDescending(i => probabilities[i]).ThenBy(i => i).Take(k);
            int rank = 1;
            foreach (var cls in ranked)
                result.Add(new TopKPrediction { Item = item, Source = Sources?[item], Rank = rank++, ClassIndex = cls, Score = probabilities[cls] });
        }
        return result;
    }

    private static void Scores(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        double sum = 0;
        bool nonNegative = true;
        foreach (var v in logits) { sum += v; if (v < 0) nonNegative = false; }
        if (nonNegative && Math.Abs(sum - 1.0) < 1e-3)
        {
            logits.CopyTo(probabilities);
            return;
        }
        float max = float.NegativeInfinity;
        foreach (var v in logits) if (v > max) max = v;
        double total = 0;
        for (int i = 0; i < logits.Length; i++) { double e = Math.Exp(logits[i] - max); probabilities[i] = (float)e; total += e; }
        for (int i = 0; i < logits.Length; i++) probabilities[i] = (float)(probabilities[i] / total);
    }
}
