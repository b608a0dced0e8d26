using Google.Protobuf;
using HeteroBatch.Engine.Errors;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace HeteroBatch.Engine.Models;

/// <summary>
/// Makes the batch dimension of a fixed-batch ONNX file symbolic. The rewrite sets the input's and
/// outputs' leading dimension to "N", drops intermediate shape annotations (ONNX Runtime re-infers
/// them), and turns constant Reshape targets that start with the fixed batch into 0 ("copy the input's
/// batch"). It is then proved on the CPU: a batch of two distinct items must equal the items run
/// alone. A graph that fails that (for example one that reshapes across the batch axis, or a Slice or
/// Expand with a hard-coded batch) keeps its original file and runs one item at a time
/// (<see cref="ModelInfo.MaxBatchSize"/> = 1). A file fixed at a batch above 1 that cannot be
/// rewritten is rejected with "FixedBatchModel": the engine cannot pad every batch to that size.
/// The verdict and the rewritten copy are cached under <c>rebatched/</c>, keyed by the original hash.
/// </summary>
internal static class BatchRewriter
{
    /// <summary>Bumped whenever the rewrite or its checks change, so cached verdicts are recomputed.</summary>
    public const int Version = 1;

    internal sealed record Result(string Path, int? MaxBatchSize, string Note, int[]? OutputItemShape);

    internal sealed record Verdict(bool Batchable, string Note, int[]? OutputItemShape, long Length, long LastWriteUtcTicks);

    public static Result Rebatch(ModelProto model, OnnxFacts facts, string originalPath, string originalHash, string cacheDirectory,
        CancellationToken cancellationToken)
    {
        long fixedBatch = facts.FixedBatch ?? throw new InvalidOperationException("The model already has a symbolic batch.");
        var folder = Path.Combine(cacheDirectory, "rebatched");
        var copyPath = Path.Combine(folder, $"{originalHash}.rb{Version}.onnx");
        var verdictPath = copyPath + ".json";

        if (ModelCache.TryReadJson<Verdict>(verdictPath) is { } cached)
        {
            if (!cached.Batchable) return Refuse(originalPath, fixedBatch, cached.Note, cached.OutputItemShape);
            if (File.Exists(copyPath) && ModelCache.FileStamp.Of(copyPath) is var stamp
                && stamp.Length == cached.Length && stamp.LastWriteUtcTicks == cached.LastWriteUtcTicks)
                return new Result(copyPath, null, cached.Note, cached.OutputItemShape);
        }

        var (verdictNote, batchable, outputShape, bytes) = RewriteAndCheck(model, facts, fixedBatch, originalPath, cancellationToken);
        if (!batchable)
        {
            ModelCache.TryWriteJson(verdictPath, new Verdict(false, verdictNote, outputShape, 0, 0));
            return Refuse(originalPath, fixedBatch, verdictNote, outputShape);
        }

        ModelCache.EnsureDirectory(folder);
        try
        {
            ModelCache.WriteAtomically(copyPath, s => s.Write(bytes!));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HeteroBatchException(ModelErrorIds.ModelCacheUnwritable, ErrorKind.WriteError,
                $"Cannot write the batch-rewritten copy of '{originalPath}' to '{copyPath}': {e.Message} Set {ModelCache.EnvironmentVariable} to a writable folder.",
                copyPath, e);
        }
        var written = ModelCache.FileStamp.Of(copyPath);
        ModelCache.TryWriteJson(verdictPath, new Verdict(true, verdictNote, outputShape, written.Length, written.LastWriteUtcTicks));
        return new Result(copyPath, null, verdictNote, outputShape);
    }

    private static Result Refuse(string originalPath, long fixedBatch, string why, int[]? outputShape)
    {
        if (fixedBatch == 1) return new Result(originalPath, 1, why, outputShape);
        throw new HeteroBatchException(ModelErrorIds.FixedBatchModel, ErrorKind.InvalidData,
            $"'{originalPath}' only accepts batches of exactly {fixedBatch} and its batch dimension cannot be made symbolic: {why} " +
            "Re-export the model with a dynamic batch axis (e.g. torch.onnx.export(..., dynamic_axes={'input': {0: 'N'}})) or with batch 1.",
            originalPath);
    }

    private static (string Note, bool Batchable, int[]? OutputShape, byte[]? Bytes) RewriteAndCheck(ModelProto model, OnnxFacts facts,
        long fixedBatch, string originalPath, CancellationToken cancellationToken)
    {
        string Declined(string why) => fixedBatch == 1
            ? $"Fixed batch 1 kept, items run one at a time: {why}"
            : why;

        if (model.Graph.Initializer.Any(t => t.DataLocation == TensorProto.Types.DataLocation.External))
            return (Declined("its weights live in external data files, so a rewritten copy in the cache could not find them."), false, facts.OutputItemShape, null);

        var graph = model.Graph;
        var changes = new List<string>();
        SetLeadingDimension(graph.Input.First(i => i.Name == facts.InputName), fixedBatch);
        foreach (var output in graph.Output)
        {
            var dims = output.Type?.TensorType?.Shape?.Dim;
            if (dims is { Count: > 0 } && dims[0].HasDimValue && dims[0].DimValue == fixedBatch) SetLeadingDimension(output, fixedBatch);
        }
        if (graph.ValueInfo.Count > 0) changes.Add($"dropped {graph.ValueInfo.Count} intermediate shape annotations");
        graph.ValueInfo.Clear();
        int reshapes = RewriteReshapeTargets(graph, fixedBatch);
        if (reshapes > 0) changes.Add($"{reshapes} Reshape target(s) now copy the batch");

        var bytes = model.ToByteArray();
        cancellationToken.ThrowIfCancellationRequested();
        InferenceSession session;
        try
        {
            session = OrtProbe.Open(bytes);
        }
        catch (OnnxRuntimeException rewrittenError)
        {
            try
            {
                OrtProbe.Open(originalPath).Dispose();
            }
            catch (OnnxRuntimeException originalError)
            {
                throw OnnxModelAnalysis.Invalid(originalPath, $"ONNX Runtime cannot load it ({OrtProbe.FirstLine(originalError.Message)}).", originalError);
            }
            return (Declined($"ONNX Runtime rejects the graph once its batch is symbolic ({OrtProbe.FirstLine(rewrittenError.Message)})."),
                false, facts.OutputItemShape, null);
        }
        using (session)
        {
            var check = OrtProbe.CheckBatching(session, facts.InputName, facts.InputItemShape, facts.OutputName, cancellationToken);
            if (check.Failure is not null) return (Declined(check.Failure), false, check.OutputItemShape ?? facts.OutputItemShape, null);
            var how = changes.Count > 0 ? $" ({string.Join("; ", changes)})" : "";
            return ($"Fixed batch {fixedBatch} rewritten to symbolic '{Zoo.ZooNetwork.BatchDimension}'{how}; " +
                    "a batch of 2 matched the items run alone.", true, check.OutputItemShape, bytes);
        }
    }

    private static void SetLeadingDimension(ValueInfoProto value, long fixedBatch)
    {
        var dims = value.Type.TensorType.Shape.Dim;
        dims[0] = new TensorShapeProto.Types.Dimension { DimParam = Zoo.ZooNetwork.BatchDimension, Denotation = dims[0].Denotation };
    }

    /// <summary>Constant Reshape targets [B, ...] become [0, ...] (or [-1, ...] under allowzero); returns how many.</summary>
    private static int RewriteReshapeTargets(GraphProto graph, long fixedBatch)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var constants = graph.Node.Where(n => n.OpType == "Constant" && n.Output.Count == 1)
            .Select(n => (Name: n.Output[0], Tensor: n.Attribute.FirstOrDefault(a => a.Name == "value")?.T))
            .Where(c => c.Tensor is not null)
            .ToDictionary(c => c.Name, c => c.Tensor!, StringComparer.Ordinal);
        var graphInputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        int rewritten = 0;

        foreach (var node in graph.Node.Where(n => n.OpType == "Reshape" && n.Input.Count >= 2).ToList())
        {
            var targetName = node.Input[1];
            bool isInitializer = initializers.TryGetValue(targetName, out var target);
            if (!isInitializer && !constants.TryGetValue(targetName, out target)) continue;
            var values = ReadInt64s(target!);
            if (values is null || values.Length == 0 || values[0] != fixedBatch) continue;

            bool allowZero = node.Attribute.Any(a => a.Name == "allowzero" && a.I == 1);
            if (allowZero && values.Contains(-1)) continue; // no safe spelling; the batch check decides
            values[0] = allowZero ? -1 : 0;

            var replacement = new TensorProto { Name = $"{targetName}__hb_batch{rewritten}", DataType = (int)TensorProto.Types.DataType.Int64 };
            replacement.Dims.AddRange(target!.Dims);
            replacement.Int64Data.AddRange(values);
            graph.Initializer.Add(replacement);
            if (isInitializer && graphInputs.Contains(targetName))
            {
                // IR 3 files list every initializer as a graph input; keep that true for the new one.
                var declared = graph.Input.First(i => i.Name == targetName).Clone();
                declared.Name = replacement.Name;
                graph.Input.Add(declared);
            }
            node.Input[1] = replacement.Name;
            rewritten++;
        }
        return rewritten;
    }

    private static long[]? ReadInt64s(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Int64) return null;
        if (tensor.Int64Data.Count > 0) return tensor.Int64Data.ToArray();
        var raw = tensor.RawData.Span;
        if (raw.Length % 8 != 0) return null;
        var values = new long[raw.Length / 8];
        for (int i = 0; i < values.Length; i++) values[i] = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]);
        return values;
    }
}
