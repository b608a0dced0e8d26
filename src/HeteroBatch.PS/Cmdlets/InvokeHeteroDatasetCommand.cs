using System.Collections;
using System.Globalization;
using System.Management.Automation;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Streaming;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Streams a whole dataset (folders of images, lists of files, piped FileInfo objects, large .npy files) through
/// the units with bounded memory: CPU workers decode a few batches ahead, each batch is split across the units by
/// the perf table (or, with -Schedule Pull, each unit pulls chunks at its own size), and outputs leave in input order, as rows of a streamed .npy (valid after Ctrl+C, resumable)
/// and as one object per item. Without per-item objects the summary is the result; with them it goes to
/// -SummaryVariable and the information stream (tag HeteroDatasetSummary), so that | Export-Csv gets items only.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "HeteroDataset")]
[OutputType(typeof(DatasetItemResult), typeof(DatasetSummary))]
public sealed class InvokeHeteroDatasetCommand : HeteroBatchCmdlet
{
    /// <summary>Zoo name (mobilenet, resnet-50, ...) or path of an ONNX file.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>Folders (their files, by name), image files, .npy files [N, ...item]; FileInfo objects piped from Get-ChildItem bind by FullName. With images, other files are reported as bad items.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] InputPath { get; set; } = Array.Empty<string>();

    /// <summary>Units to run on (cpu, gpu0, ...); default: every available unit.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Unit { get; set; }

    /// <summary>How the units are kept busy: PerBatch (default: each batch planned and split across the units by the perf
    /// table, the next batch after the slowest unit) or Pull (each unit pulls chunks of decoded items at its measured good
    /// size as soon as it is free; outputs stay in input order).</summary>
    [Parameter]
    public StreamSchedule Schedule { get; set; } = StreamSchedule.PerBatch;

    /// <summary>Items per batch; each batch is planned and split across the units by the perf table (PerBatch), or cut into the units' chunks (Pull). Default 64.</summary>
    [Parameter]
    [ValidateRange(1, 65536)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Batches decoded or running at once, at most: the bound on input memory (BatchSize × this × item size). Default 3.</summary>
    [Parameter]
    [ValidateRange(2, 64)]
    public int BatchesInFlight { get; set; } = 3;

    /// <summary>CPU threads that decode images; 0 (default) divides the cores between decoding and CPU inference by their measured costs.</summary>
    [Parameter]
    [ValidateRange(0, 4096)]
    public int DecodeWorkers { get; set; }

    /// <summary>Image decoder: Skia (default, faster) or ImageSharp (the inputs Invoke-HeteroInference makes, bit for bit).</summary>
    [Parameter]
    public ImageDecoderKind Decoder { get; set; } = ImageDecoderKind.Skia;

    /// <summary>Streamed .npy of the outputs, one row per item in input order (a bad item's row is NaN), valid on disk after every batch.</summary>
    [Parameter]
    public string? OutputPath { get; set; }

    /// <summary>Continue after the rows -OutputPath already holds (a run stopped by Ctrl+C or a crash); the result equals an uninterrupted run.</summary>
    [Parameter]
    public SwitchParameter Resume { get; set; }

    /// <summary>Write one object per item with its k best classes (Class, Score, TopClasses, TopScores). Default 5 when neither -OutputPath nor -IncludeOutput is given.</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int Top { get; set; }

    /// <summary>Write one object per item with its output vector (Output).</summary>
    [Parameter]
    public SwitchParameter IncludeOutput { get; set; }

    /// <summary>When objects are written per item, store the summary in this variable (name without $); it is not written to the pipeline then.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SummaryVariable { get; set; }

    /// <summary>Single (fp32, default) or Half.</summary>
    [Parameter]
    public ModelPrecision Precision { get; set; } = ModelPrecision.Single;

    /// <summary>Fail with MissingProfile instead of profiling the units the table lacks.</summary>
    [Parameter]
    public SwitchParameter NoAutoProfile { get; set; }

    /// <summary>Intra-op threads of CPU sessions; 0 (default) gives the CPU the cores that neither GPU feeders nor decoding need.</summary>
    [Parameter]
    [ValidateRange(0, 4096)]
    public int ThreadCount { get; set; }

    /// <summary>Backend settings that affect speed, e.g. @{ use_tf32 = 1 }; part of the table key.</summary>
    [Parameter]
    public Hashtable? BackendOption { get; set; }

    /// <summary>The performance table; default: $env:HETEROBATCH_PERFTABLE, else the user's data folder.</summary>
    [Parameter]
    [Alias("TablePath")]
    public string? Path { get; set; }

    private const int MaxQueuedItems = 4096;
    private readonly List<string> _paths = new();
    private DatasetStream? _stream;

    protected override string? InterruptedNote => _stream is null ? null
        : _stream.OutputPath is { } path
            ? $"{_stream.ItemsDone} items are done; '{path}' is a valid .npy of their rows. Run the same command with -Resume to continue."
            : $"{_stream.ItemsDone} items were done.";

    protected override void ProcessRecord() => _paths.AddRange(InputPath.Select(p => GetUnresolvedProviderPathFromPSPath(p)));

    protected override void EndProcessing()
    {
        bool perItem = Top > 0 || IncludeOutput || OutputPath is null;
        var request = new DatasetRequest
        {
            Model = Model, Paths = _paths.ToArray(), Units = Unit, Schedule = Schedule, BatchSize = BatchSize, BatchesInFlight = BatchesInFlight,
            DecodeWorkers = DecodeWorkers, Decoder = Decoder,
            OutputPath = OutputPath is null ? null : GetUnresolvedProviderPathFromPSPath(OutputPath), Resume = Resume,
            Top = Top > 0 ? Top : perItem && !IncludeOutput ? 5 : 0, IncludeOutput = IncludeOutput,
            PerfTablePath = Path is null ? null : GetUnresolvedProviderPathFromPSPath(Path), NoAutoProfile = NoAutoProfile,
            BackendOptions = BackendOptionArguments.Build(ThreadCount, BackendOption), Precision = Precision,
        };
        _stream = new DatasetStream(request);
        int activityId = NewActivityId();
        const string activity = "Invoke-HeteroDataset";
        // Not disposed: actions posted to the pipeline thread release it after the engine work has returned.
        var room = new SemaphoreSlim(MaxQueuedItems, MaxQueuedItems);
        var summary = RunEngine((sink, ct) =>
        {
            var progress = ThrottledProgressTo<DatasetProgress>(p => sink.Post(() => WriteProgress(new ProgressRecord(activityId, activity,
                $"{p.ItemsDone} of {p.TotalItems} items, {p.ItemsPerSecond.ToString("0.0", CultureInfo.InvariantCulture)} items/s" + (p.BadItems > 0 ? $", {p.BadItems} bad" : ""))
            {
                PercentComplete = p.TotalItems > 0 ? (int)Math.Min(100, p.ItemsDone * 100 / p.TotalItems) : -1,
                SecondsRemaining = p.SecondsRemaining,
            })), TimeSpan.FromMilliseconds(250));
            Action<DatasetItemResult>? onItem = perItem
                ? item =>
                {
                    // Bounded: the stream waits when the pipeline (Export-Csv, ...) lags this many items behind.
                    room.Wait(ct);
                    sink.Post(() => { room.Release(); WriteObject(item); });
                }
                : null;
            var result = _stream.Run(onItem, bad => sink.Post(() => WriteWarning($"Skipped item {bad.Index} '{bad.Path}' ({bad.ErrorId}): {bad.Message}")), progress, ct);
            PostProgressCompleted(sink, activityId, activity);
            return result;
        }, _paths.FirstOrDefault());
        if (!perItem)
        {
            WriteObject(summary);
            return;
        }
        // Items went to the pipeline (| Export-Csv): the summary stays out of it, in -SummaryVariable and the information stream.
        if (SummaryVariable is not null) SessionState.PSVariable.Set(SummaryVariable, summary);
        WriteInformation(summary, new[] { "HeteroDatasetSummary" });
    }
}
