using System.Collections;
using System.Management.Automation;
using HeteroBatch.Engine.Charts;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;
using HeteroBatch.PS.Completion;
using HeteroBatch.PS.Infrastructure;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>
/// Draws a performance table (time against batch size, one line per unit), a plan or a run (one bar per unit
/// against the best single unit) to an SVG or PNG file.
/// </summary>
[Cmdlet(VerbsData.Export, "PerfChart", DefaultParameterSetName = PipelineSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FileInfo))]
public sealed class ExportPerfChartCommand : HeteroBatchCmdlet
{
    private const string PipelineSet = "Pipeline";
    private const string FileSet = "File";

    private readonly List<PerfEntry> _rows = new();
    private readonly List<BatchPlan> _plans = new();
    private readonly List<InferenceResult> _results = new();
    private string _outputPath = "";
    private ChartFormat _format;

    /// <summary>What to draw: Get-PerfTable rows, a Split-Batch plan or an Invoke-HeteroInference result (also as deserialised from JSON, CSV or a remote session).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = PipelineSet)]
    [AllowNull]
    public PSObject? InputObject { get; set; }

    /// <summary>Draw from a file instead: a performance-table JSON (the table file or Get-PerfTable | ConvertTo-Json), a CSV from Get-PerfTable | Export-Csv, or a plan or result saved with ConvertTo-Json -Depth 6.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FileSet)]
    [ValidateNotNullOrEmpty]
    public string InputPath { get; set; } = "";

    /// <summary>The chart file to write (.svg or .png; an existing file is replaced).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Svg or Png; default: from the extension of -Path.</summary>
    [Parameter]
    public ChartFormat? Format { get; set; }

    /// <summary>Y axis of a performance-table chart: MsPerItem (default), ItemsPerSecond or TotalMs (the whole batch).</summary>
    [Parameter]
    public PerfChartMetric Metric { get; set; } = PerfChartMetric.MsPerItem;

    /// <summary>Width of the picture in pixels (200 to 10000; default 960).</summary>
    [Parameter]
    [ValidateRange(ChartOptions.MinSize, ChartOptions.MaxSize)]
    public int Width { get; set; } = ChartOptions.DefaultWidth;

    /// <summary>Height of the picture in pixels (200 to 10000; default 560).</summary>
    [Parameter]
    [ValidateRange(ChartOptions.MinSize, ChartOptions.MaxSize)]
    public int Height { get; set; } = ChartOptions.DefaultHeight;

    /// <summary>Title of the chart; default: one made from the model and batch size.</summary>
    [Parameter]
    public string? Title { get; set; }

    /// <summary>Draw only the rows of this model (name or hash) when the table rows hold several.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Model { get; set; }

    protected override void BeginProcessing()
    {
        try
        {
            _outputPath = PerfTableCmdletSupport.ResolvePath(this, Path);
            _format = Chart.FormatFor(_outputPath, Format);
        }
        catch (HeteroBatchException ex) { ThrowEngineError(ex, Path); }
    }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == PipelineSet && InputObject is not null) Collect(InputObject, 0);
    }

    protected override void EndProcessing()
    {
        Chart chart;
        try
        {
            var input = ParameterSetName == FileSet
                ? ChartInputReader.ReadFile(PerfTableCmdletSupport.ResolvePath(this, InputPath))
                : ChartInput.Combine(_rows, _plans, _results);
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Metric)) && input.Kind != ChartKind.PerfTable)
                WriteWarning($"-Metric applies to performance-table charts; a {input.Kind.ToString().ToLowerInvariant()} chart shows times in ms.");
            chart = input.Build(new ChartOptions { Title = Title, Metric = Metric, Model = Model });
        }
        catch (HeteroBatchException ex)
        {
            ThrowEngineError(ex, ParameterSetName == FileSet ? InputPath : null);
            return;
        }

        if (!ShouldProcess(_outputPath, $"Write a {_format.ToString().ToUpperInvariant()} chart ({chart.Title}, {Width} x {Height})")) return;
        try
        {
            var file = chart.Save(_outputPath, _format, Width, Height);
            // Through the provider, so the file prints (and carries PSPath) as Get-Item shows it.
            WriteObject(InvokeProvider.Item.Get(new[] { file.FullName }, force: true, literalPath: true), enumerateCollection: true);
        }
        catch (HeteroBatchException ex) { ThrowEngineError(ex, _outputPath); }
    }

    /// <summary>Sorts one piped object (or each element of a collection given to -InputObject) into rows, plans or results.</summary>
    private void Collect(PSObject item, int depth)
    {
        var value = item.BaseObject;
        switch (value)
        {
            case PerfEntry row: _rows.Add(row); return;
            case BatchPlan plan: _plans.Add(plan); return;
            case InferenceResult result: _results.Add(result); return;
            case string text when text.TrimStart().StartsWith('{') || text.TrimStart().StartsWith('['):
                Add(ChartInputReader.ReadJson(text, "the JSON text given"));
                return;
            case IEnumerable list and not string and not IDictionary when depth == 0:
                foreach (var element in list) if (element is not null) Collect(PSObject.AsPSObject(element), depth + 1);
                return;
        }

        var names = PropertyNames(item);
        switch (ChartInputReader.KindOf(names))
        {
            case ChartKind.PerfTable:
                _rows.Add(Guard(() => ChartInputReader.PerfEntryFromFields(Fields(item), $"the row for unit '{Field(item, "Unit") ?? Field(item, "Id")}' at batch size {Field(item, "BatchSize")}")));
                return;
            case ChartKind.Plan:
                _plans.Add((BatchPlan)Rebuild(item, typeof(BatchPlan)));
                return;
            case ChartKind.Result:
                _results.Add((InferenceResult)Rebuild(item, typeof(InferenceResult)));
                return;
        }
        string hint = item.TypeNames.Contains("HeteroBatch.PerfMatrixRow")
            ? " Get-PerfTable -AsMatrix rows are a pivoted view: pipe Get-PerfTable without -AsMatrix."
            : "";
        ThrowEngineError(new HeteroBatchException(ChartErrorIds.UnrecognizedChartInput, ErrorKind.InvalidArgument,
            $"Cannot draw a {item.TypeNames.FirstOrDefault() ?? "null"}: pipe Get-PerfTable rows, a Split-Batch plan or an Invoke-HeteroInference result.{hint}", value));
    }

    private void Add(ChartInput input)
    {
        _rows.AddRange(input.Rows);
        if (input.Plan is not null) _plans.Add(input.Plan);
        if (input.Result is not null) _results.Add(input.Result);
    }

    private object Rebuild(PSObject item, Type type)
    {
        try
        {
            return new RecordTransformationAttribute(type).Transform(null!, item);
        }
        catch (ArgumentTransformationMetadataException ex)
        {
            ThrowEngineError(new HeteroBatchException(ChartErrorIds.ChartInputCorrupt, ErrorKind.InvalidData,
                $"Cannot draw the {(type == typeof(BatchPlan) ? "plan" : "result")} given: {ex.Message} " +
                "If it went through ConvertTo-Json, give -Depth 6 or more.", item, ex));
            throw; // unreachable
        }
    }

    private T Guard<T>(Func<T> read)
    {
        try { return read(); }
        catch (HeteroBatchException ex) { ThrowEngineError(ex); throw; }
    }

    private static List<string> PropertyNames(PSObject item)
    {
        if (item.BaseObject is IDictionary d) return d.Keys.Cast<object>().Select(k => k.ToString() ?? "").ToList();
        return item.Properties.Where(p => p.MemberType is PSMemberTypes.NoteProperty or PSMemberTypes.Property).Select(p => p.Name).ToList();
    }

    private static Dictionary<string, object?> Fields(PSObject item)
    {
        var map = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        if (item.BaseObject is IDictionary d)
        {
            foreach (DictionaryEntry e in d) map[e.Key.ToString() ?? ""] = Unwrap(e.Value);
            return map;
        }
        foreach (var p in item.Properties)
        {
            if (p.MemberType is not (PSMemberTypes.NoteProperty or PSMemberTypes.Property)) continue;
            try { map[p.Name] = Unwrap(p.Value); } catch (GetValueException) { }
        }
        return map;
    }

    private static string? Field(PSObject item, string name) =>
        Fields(item).TryGetValue(name, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static object? Unwrap(object? value) => value is PSObject pso ? pso.BaseObject : value;
}
