using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using HeteroBatch.Engine.Distributed;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Inputs;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Profiling;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;
using HeteroBatch.PS.Remoting;
using HeteroBatch.Engine.Units;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Runs one batch across compute units in parallel: profiles what the table lacks, plans (or takes
/// -Plan), runs every unit's share at once on its own worker, gathers outputs in order, and reports
/// predicted against actual time. With -Session or -HostName, runs it across machines through
/// PowerShell remoting: each machine runs its slice on its own units.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "HeteroInference", DefaultParameterSetName = SyntheticSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(InferenceResult))]
public sealed class InvokeHeteroInferenceCommand : HeteroBatchCmdlet
{
    private const string SyntheticSet = "Synthetic";
    private const string FilesSet = "Files";
    private const string TensorSet = "Tensor";
    private const string BatchSet = "Batch";

    /// <summary>Zoo name (mobilenet, resnet-50, ...) or path of an ONNX file; with -Plan, default: the plan's model.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    /// <summary>Units to run on (cpu, gpu0, CPU slices cpu:0 and cpu:1; node1/gpu0 for a unit of a remote machine); default: every available unit, or the plan's units.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Unit { get; set; }

    /// <summary>A plan from Split-Batch (also as deserialised from JSON or a remote session) to run as given.</summary>
    [Parameter(ValueFromPipeline = true)]
    [RecordTransformation(typeof(BatchPlan))]
    public BatchPlan? Plan { get; set; }

    /// <summary>Run a seeded synthetic batch of this many items (for benchmarking); default 32, or the plan's batch size.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = SyntheticSet)]
    public int BatchSize { get; set; }

    /// <summary>Seed of the synthetic batch; same seed, same input.</summary>
    [Parameter(ParameterSetName = SyntheticSet)]
    public int Seed { get; set; }

    /// <summary>Images (jpg, png; resized and normalised as ImageNet models expect) or .npy tensors: files or folders.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FilesSet)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] InputPath { get; set; } = Array.Empty<string>();

    /// <summary>The batch as a flat float array (item-major), with -InputShape giving its shape, batch first.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = TensorSet)]
    public float[]? InputObject { get; set; }

    /// <summary>A batch loaded once with New-HeteroBatch: run as it is, with no reading or copying (the fast path for repeated calls).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = BatchSet)]
    public BatchInput? Batch { get; set; }

    /// <summary>Warm every batch size the units may run for this model (all measured sizes in the table) before the run, so
    /// later calls of any size pay no setup; for services and scheduled jobs that call again. The cost is in SetupMs.</summary>
    [Parameter]
    public SwitchParameter WarmUp { get; set; }

    /// <summary>Shape of a flat -InputObject, batch first (e.g. 8,3,224,224).</summary>
    [Parameter(ParameterSetName = TensorSet)]
    public int[]? InputShape { get; set; }

    /// <summary>Single (fp32, default) or Half: run the model's fp16 conversion; inputs and outputs stay fp32.</summary>
    [Parameter]
    public ModelPrecision Precision { get; set; } = ModelPrecision.Single;

    /// <summary>Planning algorithm when no -Plan is given: Optimal (default), Seed, GreedyImproved, Proportional or Even (see Split-Batch).</summary>
    [Parameter]
    public PlanAlgorithm Algorithm { get; set; } = PlanAlgorithm.Optimal;

    /// <summary>Split the CPU into this many units (cpu:0, cpu:1, ...) with their own thread budgets; 1 keeps it whole.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int CpuSlices { get; set; } = 1;

    /// <summary>Fail with MissingProfile instead of profiling the units the table lacks.</summary>
    [Parameter]
    public SwitchParameter NoAutoProfile { get; set; }

    /// <summary>Write the outputs, shape [N, ...], to this .npy file (atomically; nothing is left on failure).</summary>
    [Parameter]
    public string? OutputPath { get; set; }

    /// <summary>Add the output tensor to the result as its Output property (a BatchOutput: ToArray(), Item(i), TopK(k)).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Add each item's k best classes (index and softmax score) to the result as its TopK property.</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int Top { get; set; }

    /// <summary>Fold the measured per-unit times back into the performance table (a moving average), so plans improve with use.</summary>
    [Parameter]
    public SwitchParameter UpdatePerfTable { get; set; }

    /// <summary>Intra-op threads of CPU sessions; 0 (default) gives the CPU all cores but one per GPU used.</summary>
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

    /// <summary>Run across the machines these sessions (New-PSSession, SSH or WinRM) lead to; the module must be installed on each.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public PSSession[]? Session { get; set; }

    /// <summary>Run across these machines over SSH (host, user@host, user@host:port); sessions are opened for the run and closed after it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? HostName { get; set; }

    /// <summary>User name for the -HostName sessions; default: the one in the host name, else the SSH client's default.</summary>
    [Parameter]
    public string? UserName { get; set; }

    /// <summary>Private key file for the -HostName sessions; default: the SSH client's keys and agent.</summary>
    [Parameter]
    public string? KeyFilePath { get; set; }

    /// <summary>SSH options for the -HostName sessions, as New-PSSession -Options takes them (e.g. @{ ConnectTimeout = 10 }).</summary>
    [Parameter]
    public Hashtable? SSHOption { get; set; }

    /// <summary>Progress of a run is shown once it has lasted this long: shorter calls write none.</summary>
    private static readonly TimeSpan ProgressQuiet = TimeSpan.FromMilliseconds(150);

    private string? _profilingTable;

    protected override string? InterruptedNote => _profilingTable is null ? null
        : $"Every measurement completed by the profiling of missing units is saved in the perf table '{_profilingTable}'; the next run starts from them instead of from zero.";

    private string[]? _unitsOnCommandLine;
    private readonly List<string> _pipedUnits = new();

    protected override void BeginProcessing() => _unitsOnCommandLine = Unit;

    protected override void ProcessRecord()
    {
        // ComputeUnit records piped in (Get-ComputeUnit | Invoke-HeteroInference) name the units of one run:
        // gather them and run once at the end, as Split-Batch does. Piped tensors and plans run per record.
        if (MyInvocation.ExpectingInput && Unit is not null && !ReferenceEquals(Unit, _unitsOnCommandLine)
            && InputObject is null && Plan is null && Batch is null)
        {
            _pipedUnits.AddRange(Unit);
            return;
        }
        RunWithModel();
    }

    /// <summary>Runs with -Model, or the model a plan names (a plan piped as JSON text binds no -Model); per record.</summary>
    private void RunWithModel()
    {
        if (!string.IsNullOrEmpty(Model)) { Run(); return; }
        if (Plan is null)
            ThrowTerminatingError(ErrorMapping.Create(CmdletErrorIds.ModelMissing, HeteroBatch.Engine.Errors.ErrorKind.InvalidArgument,
                "No model to run: give -Model (a zoo name such as mobilenet, listed by Get-HeteroModel, or the path of an ONNX file), " +
                "or a plan from Split-Batch with -Plan, which names its model."));
        Model = Plan!.Model;
        try { Run(); }
        finally { Model = ""; }
    }

    protected override void EndProcessing()
    {
        if (_pipedUnits.Count == 0) return;
        Unit = _pipedUnits.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        RunWithModel();
    }

    private void Run()
    {
        var bound = MyInvocation.BoundParameters;
        InputSource input = ParameterSetName switch
        {
            FilesSet => InputSource.Files(InputPath.Select(p => PerfTableCmdletSupport.ResolvePath(this, p)).ToArray()),
            TensorSet => InputSource.FromArray(InputObject!, InputShape),
            BatchSet => InputSource.FromBatch(Batch!),
            _ => InputSource.Synthetic(bound.ContainsKey(nameof(BatchSize)) ? BatchSize : Plan?.BatchSize ?? 32, Seed),
        };
        var outputPath = string.IsNullOrEmpty(OutputPath) ? null : PerfTableCmdletSupport.ResolvePath(this, OutputPath);
        if (outputPath is not null && !ShouldProcess(outputPath, "Write the outputs")) return;
        if (outputPath is not null)
        {
            // An output folder that cannot be written fails now, not after the whole batch has run.
            try { NpyFile.CheckWritable(outputPath); }
            catch (HeteroBatch.Engine.Errors.HeteroBatchException ex) { ThrowEngineError(ex, outputPath); }
        }
        if (ParameterSetName == FilesSet)
        {
            // Files of other kinds in an input folder are left out: say which, so a missing item is never a mystery.
            foreach (var skipped in BatchInputLoader.SkippedInFolders(((FileInput)input).Paths))
                WriteWarning($"Skipped '{skipped}': it is neither an image ({string.Join(", ", ImagePreprocessor.ImageExtensions.Order())}) nor a .npy tensor.");
        }
        var table = string.IsNullOrEmpty(Path) ? "the performance table" : Path;
        if (UpdatePerfTable && !ShouldProcess(table, "Fold the measured times")) return;
        // Units the table lacks are profiled and saved before the run: a change to the table too.
        if (!NoAutoProfile && !UpdatePerfTable && !ShouldProcess(table, "Profile and save units the table lacks, then run the batch")) return;

        // One set of options for a run on this machine and across machines alike.
        var options = new RunOptions
        {
            Model = ModelArgument.Resolve(this, Model),
            Units = Unit ?? Plan?.Shares.Select(s => s.Unit).ToArray(),
            CpuSlices = CpuSlices,
            Algorithm = Algorithm,
            PerfTablePath = string.IsNullOrEmpty(Path) ? null : PerfTableCmdletSupport.ResolvePath(this, Path),
            NoAutoProfile = NoAutoProfile,
            UpdatePerfTable = UpdatePerfTable,
            OutputPath = outputPath,
            BackendOptions = BackendOptionArguments.Build(ThreadCount, BackendOption),
            Precision = Precision,
            WarmUp = WarmUp,
        };
        if (UpdatePerfTable)
        {
            // The measured times go to the table after the run: a table that cannot be written fails now instead.
            try { new HeteroBatch.Engine.Table.PerfTableStore(options.PerfTablePath).CheckWritable(); }
            catch (HeteroBatch.Engine.Errors.HeteroBatchException ex) { ThrowEngineError(ex, options.PerfTablePath); }
        }
        var targets = Session is { Length: > 0 } || HostName is { Length: > 0 }
            ? new RemoteTargets
            {
                Sessions = Session ?? Array.Empty<PSSession>(),
                HostNames = HostName ?? Array.Empty<string>(),
                UserName = UserName,
                KeyFilePath = string.IsNullOrEmpty(KeyFilePath) ? null : PerfTableCmdletSupport.ResolvePath(this, KeyFilePath),
                SshOptions = SSHOption,
            }
            : null;
        var activityId = NewActivityId();
        var activity = targets is null ? $"Invoke-HeteroInference {Model}" : $"Invoke-HeteroInference {Model} across machines";
        var failedWord = targets is null ? "failed" : "dropped out";
        if (Plan is null && !NoAutoProfile)
            _profilingTable = options.PerfTablePath ?? HeteroBatch.Engine.Table.PerfTableStore.ResolveDefaultPath();
        var result = RunEngine((sink, ct) =>
        {
            var progress = ThrottledProgressTo<ExecutionProgress>(p => sink.Post(() => WriteProgress(new ProgressRecord(activityId, activity,
                p.Stage == ExecutionStage.Executing && p.TotalItems > 0 ? $"{p.ItemsDone}/{p.TotalItems} items: " +
                    string.Join(", ", p.Units.Select(u => $"{u.Unit} {u.ItemsDone}/{u.Items}{(u.Failed ? " " + failedWord : "")}"))
                : string.IsNullOrEmpty(p.Activity) ? p.Stage.ToString() : p.Activity)
            {
                PercentComplete = p.PercentComplete,
                CurrentOperation = p.Stage.ToString(),
            })), ProgressQuiet);
            try
            {
                var output = OutputTo(sink, progress);
                if (targets is null) return InferencePipeline.Run(new InferenceRequest(options, input, Plan), output, ct);
                progress.Report(new ExecutionProgress { Stage = ExecutionStage.Resolving, Activity = "connecting to the machines" });
                // Units named localhost/... (or by this machine's name) run here, in process, beside the remote ones.
                bool includeLocal = options.Units?.Any(u => UnitAddress.Parse(u) is { HasMachine: true } a && UnitAddress.IsThisMachine(a.MachineName)) == true;
                using var machines = RemoteMachines.Open(targets, ct);
                if (includeLocal) machines.AddLocal();
                return DistributedInference.Run(new DistributedRequest(options, machines.Runners, input, Plan), output, ct);
            }
            catch (HeteroBatch.Engine.Errors.HeteroBatchException ex) when (ex.ErrorId == ExecutionErrorIds.MissingProfile && targets is null)
            {
                throw WithProfileCommand(ex, options);
            }
            finally
            {
                PostProgressCompleted(sink, activityId, activity);
            }
        }, Model);

        WriteResult(result);
    }

    /// <summary>
    /// -NoAutoProfile's MissingProfile, ending with a command that, pasted, saves the rows this run looks for: the
    /// Measure-BatchProfile command when it measures with this run's options (it plans the CPU's thread budget the same
    /// way), else this command without -NoAutoProfile.
    /// </summary>
    private Exception WithProfileCommand(HeteroBatch.Engine.Errors.HeteroBatchException missing, RunOptions request)
    {
        var ids = (missing.Target as string ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        string hint;
        try
        {
            var runUnits = InferencePipeline.ResolveUnits(request);
            var runOptions = ThreadBudget.OptionsFor(runUnits, request.BackendOptions);
            // Measure-BatchProfile's options: every available unit of the machine, and the ones it profiles.
            var measured = ids.Select(ComputeUnitDiscovery.Find).ToList();
            var context = ComputeUnitDiscovery.Discover().Where(u => u.Available).Concat(measured).DistinctBy(u => u.Id).ToList();
            var measureOptions = ThreadBudget.OptionsFor(context, request.BackendOptions);
            bool same = ids.Length > 0 && BackendOption is null
                && ids.All(id => runOptions.TryGetValue(id, out var r) && measureOptions.TryGetValue(id, out var m) && r.Key == m.Key);
            hint = same
                ? "Profile them and save the rows, then retry: " +
                  MissingProfileException.ProfileCommand(Model, ids, Path, Precision == ModelPrecision.Half, ThreadCount)
                : RunOnce;
        }
        catch (HeteroBatch.Engine.Errors.HeteroBatchException)
        {
            // A CPU slice (cpu:1) or a unit Measure-BatchProfile cannot name alone: only the run itself profiles it.
            hint = RunOnce;
        }
        var message = missing.Message;
        var cut = message.IndexOf(" Run Measure-BatchProfile for them", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        return new HeteroBatch.Engine.Errors.HeteroBatchException(missing.ErrorId, missing.Kind,
            $"{message} {hint}", missing.Target, missing);
    }

    private const string RunOnce = "Run the same command once without -NoAutoProfile: it profiles them with this run's options and saves the rows, so later runs with -NoAutoProfile find them.";

    private void WriteResult(InferenceResult result)
    {
        foreach (var machine in result.Machines.Where(m => m.Failed))
        {
            var why = machine.Error ?? "it failed.";
            if (!why.Contains(machine.Unit, StringComparison.OrdinalIgnoreCase)) why = $"Machine {machine.Unit} dropped out: {why}";
            WriteWarning($"{why} Its items were re-run on the other machines and completed.");
        }
        foreach (var failed in result.Units.Where(u => u.Failed))
        {
            WriteWarning($"Unit {failed.Unit} failed: {failed.Error}. Its items were re-planned onto the other units and completed.");
        }
        var output = PSObject.AsPSObject(result);
        if (PassThru) output.Properties.Add(new PSNoteProperty("Output", result.GetOutput()));
        if (Top > 0)
        {
            try { output.Properties.Add(new PSNoteProperty("TopK", result.GetOutput()?.TopK(Top).ToArray())); }
            catch (HeteroBatch.Engine.Errors.HeteroBatchException ex) { WriteEngineError(ex, Model); }
        }
        WriteObject(output);
    }

}
