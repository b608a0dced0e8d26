using Microsoft.ML.OnnxRuntime;

namespace HeteroBatch.Engine.Models;

/// <summary>
/// Runs a model on the CPU with a few deterministic items to learn what declarations do not say:
/// the output shape, and whether a batch of two gives the same answers as the items run alone.
/// </summary>
internal static class OrtProbe
{
    /// <summary>Outcome of <see cref="CheckBatching"/>; <see cref="Failure"/> is null when batching is safe.</summary>
    internal sealed record BatchCheck(string? Failure, int[]? OutputItemShape);

    public static InferenceSession Open(byte[] model)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        return new InferenceSession(model, options);
    }

    public static InferenceSession Open(string path)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        return new InferenceSession(path, options);
    }

    /// <summary>Shape of one output item, from running one item.</summary>
    public static int[] OutputItemShape(InferenceSession session, string inputName, int[] inputItemShape, string outputName)
    {
        var (_, shape) = Run(session, inputName, inputItemShape, outputName, Items(inputItemShape, 1, seed: 1));
        return shape.Skip(1).Select(d => checked((int)d)).ToArray();
    }

    /// <summary>
    /// Runs a batch of two distinct items and each item alone; batching is safe when the batch's
    /// output has two rows equal to the single runs (relative 1e-4), so no item leaks into another.
    /// </summary>
    public static BatchCheck CheckBatching(InferenceSession session, string inputName, int[] inputItemShape, string outputName,
        CancellationToken cancellationToken)
    {
        var pair = Items(inputItemShape, 2, seed: 2);
        int itemElements = pair.Length / 2;
        (float[] Values, long[] Shape) batched;
        try
        {
            batched = Run(session, inputName, inputItemShape, outputName, pair);
        }
        catch (OnnxRuntimeException e)
        {
            return new BatchCheck($"ONNX Runtime rejects a batch of 2 after the rewrite ({FirstLine(e.Message)}).", null);
        }
        if (batched.Shape.Length == 0 || batched.Shape[0] != 2)
            return new BatchCheck($"for a batch of 2 its output '{outputName}' has shape [{string.Join(",", batched.Shape)}], not [2,...].", null);
        var itemShape = batched.Shape.Skip(1).Select(d => checked((int)d)).ToArray();
        int outputElements = batched.Values.Length / 2;

        for (int item = 0; item < 2; item++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var alone = Run(session, inputName, inputItemShape, outputName, pair.AsSpan(item * itemElements, itemElements).ToArray());
            if (alone.Values.Length != outputElements)
                return new BatchCheck($"one item gives {alone.Values.Length} outputs but a batch of 2 gives {outputElements} per item.", null);
            var inBatch = batched.Values.AsSpan(item * outputElements, outputElements);
            float scale = 0;
            foreach (var v in alone.Values) if (float.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
            for (int i = 0; i < outputElements; i++)
            {
                float a = alone.Values[i], b = inBatch[i];
                bool same = float.IsNaN(a) ? float.IsNaN(b) : Math.Abs(a - b) <= 1e-4f * scale + 1e-6f || a == b;
                if (!same)
                    return new BatchCheck(
                        $"item {item} of a batch of 2 differs from the same item run alone (output {i}: {b} vs {a}), so the graph mixes items of a batch.",
                        itemShape);
            }
        }
        return new BatchCheck(null, itemShape);
    }

    private static (float[] Values, long[] Shape) Run(InferenceSession session, string inputName, int[] inputItemShape, string outputName, float[] items)
    {
        int itemElements = inputItemShape.Aggregate(1, (a, b) => a * b);
        long[] shape = [items.Length / itemElements, .. inputItemShape.Select(d => (long)d)];
        using var input = OrtValue.CreateTensorValueFromMemory(items, shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [inputName], [input], [outputName]);
        var output = results[0];
        return (output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    /// <summary>Deterministic pseudo-random items in [0, 1), distinct per item.</summary>
    private static float[] Items(int[] itemShape, int count, ulong seed)
    {
        int elements = itemShape.Aggregate(1, (a, b) => a * b) * count;
        var values = new float[elements];
        ulong state = seed * 0x9E3779B97F4A7C15UL;
        for (int i = 0; i < values.Length; i++)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            values[i] = (z >> 40) * (1f / (1 << 24));
        }
        return values;
    }

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
