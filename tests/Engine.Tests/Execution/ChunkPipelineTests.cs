using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Xunit;
using static HeteroBatch.Engine.Tests.Execution.PlanAndOutputTests;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Execution;

/// <summary>
/// How the executor hands a share's chunks to a session that pipelines them (the CUDA session does): the
/// full chunks in one call, in plan order, the padded last chunk on its own; outputs as a plain run gives.
/// Runs on CPU sessions wrapped as a pipelining session, so it needs no GPU.
/// </summary>
public sealed class ChunkPipelineTests
{
    private static ModelInfo Model => ExecutionTestModels.Small;
    private static readonly BackendOptions OneThread = new() { IntraOpThreads = 1 };

    [Theory]
    [InlineData(new[] { 8, 8, 4 }, 20, new[] { 8, 8, 4 }, new int[0])]
    [InlineData(new[] { 8, 8, 8 }, 20, new[] { 8, 8 }, new[] { 8 })]      // last chunk padded: 4 real of 8
    [InlineData(new[] { 20 }, 20, new int[0], new[] { 20 })]               // one chunk: nothing to overlap
    public void Full_chunks_go_to_the_pipeline_in_order_and_outputs_match(int[] chunks, int items, int[] pipelined, int[] single)
    {
        var cpu = HeteroExecutorTests.CpuUnit();
        var input = BatchInputLoader.Synthetic(Model.InputItemShape, items, seed: 21);
        var reference = new float[items * Model.OutputElementsPerItem];
        BackendRegistry.Default.OpenSession(Model, cpu, OneThread).Run(input.Data, reference, items);

        var sessions = new RecordingPipelineSessions();
        var result = new HeteroExecutor(sessions).Execute(new ExecutionRequest
        {
            Plan = Plan(items, Share("cpu", 0, items, chunks)), Model = Model, Units = new[] { cpu }, Input = input,
            UnitOptions = new Dictionary<string, BackendOptions> { ["cpu"] = OneThread },
        });

        Assert.Equal(pipelined.Length == 0 ? Array.Empty<int[]>() : new[] { pipelined }, sessions.PipelineCalls);
        Assert.Equal(single, sessions.SingleRuns);
        Assert.Equal(chunks, result.Units[0].ExecutedBatchSizes);
        Assert.True(result.GetOutput()!.Data.Span.SequenceEqual(reference));
    }

    private sealed class RecordingPipelineSessions : ISessionProvider
    {
        public List<int[]> PipelineCalls { get; } = new();
        public List<int> SingleRuns { get; } = new();

        public IInferenceSession Acquire(ModelInfo model, ComputeUnit unit, BackendOptions options) =>
            new Recording(BackendRegistry.Default.OpenSession(model, unit, options), this);

        private sealed class Recording(IInferenceSession inner, RecordingPipelineSessions owner) : IInferenceSession, IChunkPipelineSession
        {
            public ModelInfo Model => inner.Model;
            public ComputeUnit Unit => inner.Unit;
            public BackendOptions Options => inner.Options;
            public void Dispose() { }

            public RunTiming Run(ReadOnlyMemory<float> input, Memory<float> output, int batchSize, CancellationToken cancellationToken = default)
            {
                owner.SingleRuns.Add(batchSize);
                return inner.Run(input, output, batchSize, cancellationToken);
            }

            public IReadOnlyList<RunTiming> RunChunks(ReadOnlyMemory<float> input, Memory<float> output, IReadOnlyList<int> chunkSizes, CancellationToken cancellationToken = default)
            {
                owner.PipelineCalls.Add(chunkSizes.ToArray());
                return ChunkPipeline.RunOneByOne(inner, input, output, chunkSizes, cancellationToken);
            }
        }
    }
}
