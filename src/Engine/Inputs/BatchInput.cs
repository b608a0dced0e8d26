using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;

namespace HeteroBatch.Engine.Inputs;

/// <summary>
/// One batch of inputs in a single contiguous float32 buffer, items first (NCHW for images). Units read
/// their shares as <see cref="Slice"/>s of this buffer, so splitting a batch never copies it.
/// </summary>
public sealed class BatchInput
{
    private readonly float[] _buffer;
    private readonly int _start;

    internal BatchInput(float[] buffer, int start, int count, int[] itemShape, IReadOnlyList<string>? sources, string description)
    {
        ItemShape = itemShape;
        ElementsPerItem = itemShape.Aggregate(1, (a, b) => checked(a * b));
        if (count < 0 || start < 0 || (long)start + (long)count * ElementsPerItem > buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(count), "The buffer is smaller than count items.");
        _buffer = buffer;
        _start = start;
        Count = count;
        Sources = sources;
        Description = description;
    }

    /// <summary>True when the buffer came from <see cref="InputBufferPool"/> for one run and goes back after it.</summary>
    internal bool ReturnsToPool { get; init; }

    /// <summary>The buffer the items live in (shared by views).</summary>
    internal float[] Buffer => _buffer;

    /// <summary>The same batch over the same buffer, no longer returned to the pool (the caller keeps it).</summary>
    internal BatchInput Kept() => new(_buffer, _start, Count, ItemShape, Sources, Description);

    /// <summary>The same items over <paramref name="buffer"/>, which holds exactly them from index 0.</summary>
    internal BatchInput WithBuffer(float[] buffer) => new(buffer, 0, Count, ItemShape, Sources, Description);

    /// <summary>Number of items (the batch size N).</summary>
    public int Count { get; }
    /// <summary>Shape of one item, without the batch dimension.</summary>
    public int[] ItemShape { get; }
    public int ElementsPerItem { get; }
    /// <summary>Shape of the whole batch, N first.</summary>
    public int[] Shape => new[] { Count }.Concat(ItemShape).ToArray();
    /// <summary>Where each item came from (file name, or file name and index for multi-item .npy files); null for synthetic and array input.</summary>
    public IReadOnlyList<string>? Sources { get; }
    /// <summary>Short human description, e.g. "12 images from C:\photos".</summary>
    public string Description { get; }

    /// <summary>All items, contiguous.</summary>
    public ReadOnlyMemory<float> Data => new(_buffer, _start, Count * ElementsPerItem);

    /// <summary>Items [offset, offset+count) as a view of the batch buffer (no copy).</summary>
    public ReadOnlyMemory<float> Slice(int offset, int count)
    {
        if (offset < 0 || count < 0 || offset + count > Count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Items [{offset}, {offset + count}) are outside the batch of {Count}.");
        return new ReadOnlyMemory<float>(_buffer, _start + offset * ElementsPerItem, count * ElementsPerItem);
    }

    /// <summary>Items [offset, offset+count) as a batch of their own over the same buffer (no copy).</summary>
    internal BatchInput View(int offset, int count, string? description = null)
    {
        if (offset < 0 || count < 0 || offset + count > Count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Items [{offset}, {offset + count}) are outside the batch of {Count}.");
        if (offset == 0 && count == Count && description is null) return this;
        return new BatchInput(_buffer, _start + offset * ElementsPerItem, count, ItemShape, Sources?.Skip(offset).Take(count).ToArray(),
            description ?? $"items {offset}-{offset + count - 1} of {Description}");
    }

    /// <summary>
    /// Checks that the items fit <paramref name="model"/>'s input: same rank and the same size in every
    /// dimension the model fixes. Throws <c>InvalidInputShape</c>.
    /// </summary>
    public void ValidateFor(ModelInfo model)
    {
        if (!ShapeFits(ItemShape, model.InputItemShape))
            throw new HeteroBatchException(BatchErrorIds.InvalidInputShape, ErrorKind.InvalidArgument,
                $"The input items have shape [{string.Join(",", ItemShape)}] but model '{model.Name}' expects [{string.Join(",", model.InputItemShape)}] per item " +
                $"(input '{model.InputName}'). Give tensors of shape [N,{string.Join(",", model.InputItemShape)}].", Description);
    }

    internal static bool ShapeFits(int[] actual, int[] expected)
    {
        if (actual.Length != expected.Length) return false;
        for (int i = 0; i < actual.Length; i++)
            if (expected[i] > 0 && actual[i] != expected[i]) return false;
        return true;
    }

    /// <summary>A reusable pinned buffer from <see cref="InputBufferPool"/> for a batch read from files.</summary>
    internal static float[] RentBuffer(long elements)
    {
        if (elements > Array.MaxLength)
            throw new HeteroBatchException(BatchErrorIds.InvalidBatchSize, ErrorKind.LimitsExceeded,
                $"The batch needs {elements} values, more than one buffer can hold ({Array.MaxLength}). Split it into smaller batches.", elements);
        return InputBufferPool.Rent(elements);
    }

    /// <summary>Allocates the single pinned buffer a batch lives in (pinned so backends can hand it to native code without copying).</summary>
    internal static float[] AllocateBuffer(long elements)
    {
        if (elements > Array.MaxLength)
            throw new HeteroBatchException(BatchErrorIds.InvalidBatchSize, ErrorKind.LimitsExceeded,
                $"The batch needs {elements} values, more than one buffer can hold ({Array.MaxLength}). Split it into smaller batches.", elements);
        return Backends.PinnedArrays.Allocate((int)elements);
    }
}
