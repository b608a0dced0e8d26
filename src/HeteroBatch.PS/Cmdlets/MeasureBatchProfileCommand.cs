using System.Collections;
using System.Management.Automation;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.Engine.Table;
using HeteroBatch.Engine.Units;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Profiles a model's inference time per batch size on compute units: warm-ups, repeats, median and
/// spread, execution apart from I/O, stopping at a unit's memory limit or time budget, refining where
/// the cost curve bends. -Save merges each row into the performance table as it is measured.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "BatchProfile", DefaultParameterSetName = GridSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PerfEntry))]
public sealed class MeasureBatchProfileCommand : HeteroBatchCmdlet
{
    private const string GridSet = "Grid";
    private const string ExplicitSet = "Explicit";

    private readonly List<string> _unitIds = new();

    /// <summary>Zoo name (resnet-50, mobilenet, ...) or path of an ONNX file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>Units to profile (cpu, gpu0, ...), or ComputeUnit objects piped from Get-ComputeUnit; default: every available unit.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Unit { get; set; }

    /// <summary>Explicit batch sizes to measure instead of the default grid (1,2,3,4,5,7,8,9,15,16,17,31,32,33,...).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ExplicitSet)]
    public int[] BatchSize { get; set; } = Array.Empty<int>();

    /// <summary>Largest batch size of the default grid (2^n and 2^n±1 up to this size); default 129.</summary>
    [Parameter(ParameterSetName = GridSet)]
    public int MaxBatchSize { get; set; } = 129;

    /// <summary>Unmeasured runs before each point; default 2.</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int Warmup { get; set; } = 2;

    /// <summary>Timed runs per point, of which the median is kept; default 5 (fewer for slow points).</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int Repeat { get; set; } = 5;

    /// <summary>A run longer than this many seconds marks the point TooSlow and stops growing the batch on that unit; default 60.</summary>
    [Parameter]
    [ValidateRange(0.001, 86400)]
    public double MaxSecondsPerRun { get; set; } = 60;

    /// <summary>Skip adaptive refinement (extra sizes where linear interpolation between grid points is off).</summary>
    [Parameter]
    public SwitchParameter NoRefine { get; set; }

    /// <summary>Relative interpolation error above which refinement measures a midpoint; default 0.10 (10 %).</summary>
    [Parameter]
    [ValidateRange(0.001, 10)]
    public double Tolerance { get; set; } = 0.10;

    /// <summary>Intra-op threads of CPU sessions; 0 (default) gives the CPU all cores but one per GPU, as inference does. Part of the table key.</summary>
    [Parameter]
    [ValidateRange(0, 4096)]
    public int ThreadCount { get; set; }

    /// <summary>Backend settings that affect speed, e.g. @{ cudnn_conv_algo_search = 'EXHAUSTIVE' }. Part of the table key.</summary>
    [Parameter]
    public Hashtable? BackendOption { get; set; }

    /// <summary>Single (fp32, default) or Half: profile the model's fp16 conversion (fp32 inputs and outputs), a model of its own in the table ("name-fp16").</summary>
    [Parameter]
    public ModelPrecision Precision { get; set; } = ModelPrecision.Single;

    /// <summary>Seed of the synthetic input; same seed, same input.</summary>
    [Parameter]
    public int Seed { get; set; } = 1234;

    /// <summary>Merge each row into the performance table as it is measured.</summary>
    [Parameter]
    public SwitchParameter Save { get; set; }

    /// <summary>The table file for -Save; default: $env:HETEROBATCH_PERFTABLE, else the user's data folder.</summary>
    [Parameter]
    [Alias("TablePath")]
    public string? Path { get; set; }

    private int _saved;
    private string? _savedTo;

    protected override string? InterruptedNote => _savedTo is null ? null
        : $"The {_saved} row(s) measured before it are saved in '{_savedTo}'; run the command again to complete the profile.";

    private string _modelGiven = "";
    private bool _profiledRecords;

    protected override void BeginProcessing() => _modelGiven = Model;

    protected override void ProcessRecord()
    {
        if (MyInvocation.ExpectingInput && Model != _modelGiven)
        {
            // A record that brings its own model (Import-Csv models.csv | Measure-BatchProfile): one profile per record.
            // A record that fails (a model that does not exist) is that record's error; the others are still profiled.
            _profiledRecords = true;
            Profile(Unit ?? Array.Empty<string>(), oneOfSeveral: true);
            return;
        }
        if (Unit is not null) _unitIds.AddRange(Unit);
    }

    protected override void EndProcessing()
    {
        // Units piped for one model (Get-ComputeUnit | Measure-BatchProfile -Model m) make one job, profiled here.
        if (_profiledRecords && _unitIds.Count == 0) return;
        Profile(_unitIds);
    }

    private void Profile(IReadOnlyList<string> unitIds, bool oneOfSeveral = false)
    {
        var store = Save ? PerfTableCmdletSupport.OpenStore(this, Path) : null;
        if (store is not null && !ShouldProcess(store.Path, $"Save the profile of {Model}")) store = null;
        var options = new RunOptions
        {
            Model = ModelArgument.Resolve(this, Model),
            Precision = Precision,
            Units = unitIds.ToArray(),
            BackendOptions = BackendOptionArguments.Build(ThreadCount, BackendOption),
        };
        var profileOptions = new ProfileOptions
        {
            BatchSizes = ParameterSetName == ExplicitSet ? BatchSize : null,
            MaxBatchSize = MaxBatchSize,
            WarmupRuns = Warmup,
            Repeats = Repeat,
            MaxSecondsPerRun = MaxSecondsPerRun,
            Refine = !NoRefine,
            RefineTolerance = Tolerance,
            Seed = Seed,
        };
        var activityId = NewActivityId();
        var activity = $"Measure-BatchProfile {Model}";

        object? Work(PipelineSink sink, CancellationToken ct)
        {
            // A table that cannot be written fails now, not after minutes of profiling.
            store?.CheckWritable();
            _savedTo = store?.Path;
            var progress = ProgressTo<ProfileProgress>(p => sink.Post(() => WriteProgress(new ProgressRecord(activityId, activity,
                $"unit {p.Unit}, batch {p.BatchSize} ({p.Phase}), point {p.PointsDone}/{p.PointsTotal}")
            {
                PercentComplete = (int)p.PercentComplete,
            })));
            try
            {
                UnitProfiler.Profile(options, profileOptions, row =>
                {
                    // Saved as soon as measured, and not cancelled: a Ctrl+C right after a point keeps it.
                    if (store is not null)
                    {
                        store.Merge(new[] { row }, cancellationToken: CancellationToken.None);
                        Interlocked.Increment(ref _saved);
                    }
                    sink.Post(() => WriteObject(row));
                }, progress, ct);
            }
            finally
            {
                PostProgressCompleted(sink, activityId, activity);
            }
            return null;
        }
        if (!oneOfSeveral) RunEngine(Work, Model);
        else TryRunEngine(Work, Model, out _);
    }
}
