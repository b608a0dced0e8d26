using System.Management.Automation;
using HeteroBatch.Engine.Table;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>Reads the performance table, filtered; -AsMatrix pivots it to one row per batch size.</summary>
[Cmdlet(VerbsCommon.Get, "PerfTable", DefaultParameterSetName = EntriesSet)]
[OutputType(typeof(PerfEntry), ParameterSetName = new[] { EntriesSet })]
[OutputType(typeof(PSObject), ParameterSetName = new[] { MatrixSet })]
public sealed class GetPerfTableCommand : HeteroBatchCmdlet
{
    private const string EntriesSet = "Entries";
    private const string MatrixSet = "Matrix";

    /// <summary>Model name, content hash (a prefix of 8+ hex digits is enough) or the model's ONNX file (its rows by content
    /// hash, as Invoke-HeteroInference -Model takes it); wildcards allowed on names.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [SupportsWildcards]
    public string? Model { get; set; }

    /// <summary>Only these units (as named in the table: cpu, gpu0, or another machine's names).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(UnitCompleter))]
    [SupportsWildcards]
    public string[]? Unit { get; set; }

    /// <summary>Only rows measured on these machines.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? MachineName { get; set; }

    /// <summary>Only these batch sizes.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int[]? BatchSize { get; set; }

    /// <summary>Pivot to one row per batch size and one column per unit, as the seed's print_table.py showed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MatrixSet)]
    public SwitchParameter AsMatrix { get; set; }

    /// <summary>What the matrix cells show: TotalMs (default), ExecMs, IoMs, MsPerItem or ItemsPerSecond.</summary>
    [Parameter(ParameterSetName = MatrixSet)]
    public PerfMatrixValue Value { get; set; } = PerfMatrixValue.TotalMs;

    /// <summary>The table file; default: $env:HETEROBATCH_PERFTABLE, else the user's data folder.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TablePath")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        var rows = RunEngine((_, _) => PerfTableCmdletSupport.OpenStore(this, Path).Read().Entries, Path);
        _modelFile = ModelFile();
        var selected = rows.Where(Matches).ToList();
        if (AsMatrix)
        {
            foreach (var row in PerfMatrix.Build(selected, Value).ToDictionaries())
            {
                var obj = new PSObject();
                obj.TypeNames.Insert(0, "HeteroBatch.PerfMatrixRow");
                foreach (var (name, value) in row) obj.Properties.Add(new PSNoteProperty(name, value));
                WriteObject(obj);
            }
            return;
        }
        foreach (var row in selected) WriteObject(row);
    }

    private bool Matches(PerfEntry e)
    {
        if (Model is not null && !ModelMatches(e)) return false;
        if (Unit is { Length: > 0 } && !AnyLike(Unit, e.Unit)) return false;
        if (MachineName is { Length: > 0 } && !AnyLike(MachineName, e.MachineName)) return false;
        if (BatchSize is { Length: > 0 } && !BatchSize.Contains(e.BatchSize)) return false;
        return true;
    }

    private HeteroBatch.Engine.Models.ModelInfo? _modelFile;

    /// <summary>The model -Model names when it is an ONNX file (not a zoo name, no wildcards), read for its hash; else null.</summary>
    private HeteroBatch.Engine.Models.ModelInfo? ModelFile()
    {
        if (Model is null || WildcardPattern.ContainsWildcardCharacters(Model)) return null;
        var resolved = ModelArgument.Resolve(this, Model);
        if (!File.Exists(resolved)) return null;
        return RunEngine((_, ct) => HeteroBatch.Engine.Models.ModelResolver.Resolve(resolved, null, null, ct), Model);
    }

    private bool ModelMatches(PerfEntry e) =>
        _modelFile is not null ? PerfQueries.MatchesModel(e, _modelFile)
        : WildcardPattern.ContainsWildcardCharacters(Model)
            ? new WildcardPattern(Model!, WildcardOptions.IgnoreCase).IsMatch(e.Model)
            : PerfQueries.MatchesModel(e, Model!);

    private static bool AnyLike(string[] patterns, string value) =>
        patterns.Any(p => new WildcardPattern(p, WildcardOptions.IgnoreCase).IsMatch(value));
}
