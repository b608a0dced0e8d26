using System.Globalization;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Planning;

/// <summary>
/// The cost curves of a set of units for one model, selected from performance-table rows. Keep it to re-plan
/// the same batch later (<see cref="BatchPlanner.Replan"/>): the curves cache their computed tables.
/// </summary>
public sealed class CostModel
{
    private readonly UnitCostCurve[] _units;

    /// <summary>A cost model from curves built by the caller (tests, other machines, hierarchical planning).</summary>
    public CostModel(string model, string modelHash, IEnumerable<UnitCostCurve> units)
    {
        Model = model ?? "";
        ModelHash = modelHash ?? "";
        _units = units?.ToArray() ?? throw new ArgumentNullException(nameof(units));
        var duplicate = _units.GroupBy(u => u.Unit, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Unit '{duplicate.Key}' is given twice.", nameof(units));
    }

    /// <summary>Model name.</summary>
    public string Model { get; }
    /// <summary>Model content hash; empty when the rows have none (imported tables).</summary>
    public string ModelHash { get; }
    /// <summary>One curve per unit, in the order the units were requested.</summary>
    public IReadOnlyList<UnitCostCurve> Units => _units;

    /// <summary>The curve of <paramref name="unit"/> (case-insensitive), or null.</summary>
    public UnitCostCurve? Find(string unit) =>
        _units.FirstOrDefault(u => string.Equals(u.Unit, unit, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Selects the rows of <paramref name="model"/> for each of <paramref name="units"/> and builds their curves.
    /// </summary>
    /// <param name="table">Performance-table rows (from the store, or an Import-Csv of another host's table).</param>
    /// <param name="model">Model name; rows match it case-insensitively when no hash is given, or when they have no hash.</param>
    /// <param name="modelHash">Model content hash; when given, rows with this hash are used (rows without a hash
    /// match by name, for imported tables; when a unit has both, the hashed rows win).</param>
    /// <param name="units">Unit ids as in the table (<c>cpu</c>, <c>gpu0</c>, or <c>CPU</c>, <c>IGPU</c>, <c>GPU</c> of another host); case-insensitive.</param>
    /// <param name="machineName">Only rows of this machine; null accepts any machine (then one must be unambiguous).</param>
    /// <param name="backendOptions">Only rows measured with this <see cref="Table.BackendOptions.Key"/>; null accepts any.</param>
    /// <remarks>
    /// Ok rows are measurements; OutOfMemory/TooSlow rows set the unit's limit (sizes ≥ the smallest such size are
    /// not run); rows with another status are ignored. Errors: NoUnits, InvalidModel, MissingProfile (no row for a
    /// unit: <see cref="MissingProfileException"/> lists them all), AmbiguousProfile (a unit's rows come from
    /// several machines, option sets or model versions, or two rows share a batch size), InvalidProfile.
    /// </remarks>
    public static CostModel FromTable(IEnumerable<PerfEntry> table, string model, string? modelHash, IEnumerable<string> units,
        string? machineName = null, string? backendOptions = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        model ??= "";
        modelHash ??= "";
        if (string.IsNullOrWhiteSpace(model) && string.IsNullOrWhiteSpace(modelHash))
            throw new HeteroBatchException(PlanningErrorIds.InvalidModel, ErrorKind.InvalidArgument,
                "No model was given: pass a model name or path.", model);
        var requested = (units ?? Array.Empty<string>()).Where(u => !string.IsNullOrWhiteSpace(u))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (requested.Length == 0)
            throw new HeteroBatchException(PlanningErrorIds.NoUnits, ErrorKind.InvalidArgument,
                "No compute unit was given to plan on. Pass unit ids (see Get-ComputeUnit) or the unit names of the table.");

        var wanted = new HashSet<string>(requested, StringComparer.OrdinalIgnoreCase);
        var byUnit = new Dictionary<string, List<PerfEntry>>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in table)
        {
            if (row is null || !wanted.Contains(row.Unit ?? "")) continue;
            if (!MatchesModel(row, model, modelHash)) continue;
            if (machineName is not null && !string.Equals(row.MachineName ?? "", machineName, StringComparison.OrdinalIgnoreCase)) continue;
            if (backendOptions is not null && !string.Equals(row.BackendOptions ?? "", backendOptions, StringComparison.Ordinal)) continue;
            if (!byUnit.TryGetValue(row.Unit!, out var list)) byUnit[row.Unit!] = list = new List<PerfEntry>();
            list.Add(row);
        }

        string modelLabel = string.IsNullOrEmpty(model) ? modelHash : model;
        var missing = requested.Where(u => !byUnit.ContainsKey(u)).ToArray();
        if (missing.Length > 0) throw new MissingProfileException(modelLabel, missing, machineName);

        var curves = new List<UnitCostCurve>();
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var unit in requested)
        {
            var rows = byUnit[unit];
            if (modelHash.Length > 0 && rows.Any(r => HashEquals(r.ModelHash, modelHash)))
                rows = rows.Where(r => HashEquals(r.ModelHash, modelHash)).ToList();
            CheckOneSource(unit, modelLabel, rows);
            CheckOneRowPerSize(unit, rows);
            foreach (var r in rows) if (!string.IsNullOrEmpty(r.ModelHash)) hashes.Add(r.ModelHash);

            var ok = new List<MeasuredPoint>();
            int? limit = null;
            string? limitStatus = null;
            bool pipelines = RunsMeasuredSizesOnly(rows[0].Backend);
            foreach (var r in rows)
            {
                if (r.BatchSize <= 0)
                    throw InvalidRow(unit, r, $"batch size {r.BatchSize}");
                if (string.Equals(r.Status, PerfStatus.Ok, StringComparison.OrdinalIgnoreCase))
                {
                    if (!double.IsFinite(r.TotalMs) || r.TotalMs <= 0 || r.IoMs < 0)
                        throw InvalidRow(unit, r, $"time {r.ExecMs.ToString(CultureInfo.InvariantCulture)} + {r.IoMs.ToString(CultureInfo.InvariantCulture)} ms");
                    // A CUDA unit pipelines its full chunks: a later chunk's copy in hides behind the compute before it.
                    ok.Add(new MeasuredPoint(r.BatchSize, r.TotalMs,
                        pipelines && double.IsFinite(r.HostToDeviceMs) && r.HostToDeviceMs > 0 ? Math.Min(r.HostToDeviceMs, r.IoMs) : 0));
                }
                else if (string.Equals(r.Status, PerfStatus.OutOfMemory, StringComparison.OrdinalIgnoreCase)
                      || string.Equals(r.Status, PerfStatus.TooSlow, StringComparison.OrdinalIgnoreCase))
                {
                    if (limit is null || r.BatchSize < limit) { limit = r.BatchSize; limitStatus = r.Status; }
                }
            }
            curves.Add(new UnitCostCurve(unit, ok, limit, rows[0].MachineName ?? "", limitStatus, pipelines));
        }

        string hash = modelHash.Length > 0 ? modelHash : hashes.Count == 1 ? hashes.First() : "";
        string name = model.Length > 0 ? model : byUnit.Values.SelectMany(r => r).Select(r => r.Model).FirstOrDefault(m => !string.IsNullOrEmpty(m)) ?? modelHash;
        return new CostModel(name, hash, curves);
    }

    /// <summary>Backends whose sessions pay a one-time setup per new batch size (CUDA: algorithm search and graph
    /// capture) run the measured sizes only.</summary>
    public static bool RunsMeasuredSizesOnly(string? backend) =>
        string.Equals(backend, HeteroBatch.Engine.Units.UnitBackends.OrtCuda, StringComparison.OrdinalIgnoreCase);

    private static bool MatchesModel(PerfEntry row, string model, string modelHash)
    {
        if (modelHash.Length > 0)
        {
            if (HashEquals(row.ModelHash, modelHash)) return true;
            return string.IsNullOrEmpty(row.ModelHash) && model.Length > 0 && string.Equals(row.Model, model, StringComparison.OrdinalIgnoreCase);
        }
        return string.Equals(row.Model, model, StringComparison.OrdinalIgnoreCase);
    }

    private static bool HashEquals(string? a, string b) => !string.IsNullOrEmpty(a) && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static void CheckOneSource(string unit, string model, List<PerfEntry> rows)
    {
        var sources = rows.GroupBy(r => (Machine: (r.MachineName ?? "").ToUpperInvariant(), Options: r.BackendOptions ?? "", Hash: (r.ModelHash ?? "").ToUpperInvariant()))
            .Select(g => g.First()).ToList();
        if (sources.Count <= 1) return;
        var choices = sources.Select(r =>
            $"machine '{r.MachineName}', options '{(string.IsNullOrEmpty(r.BackendOptions) ? "(default)" : r.BackendOptions)}'" +
            (string.IsNullOrEmpty(r.ModelHash) ? "" : $", model hash {Short(r.ModelHash)}")).ToArray();
        throw new HeteroBatchException(PlanningErrorIds.AmbiguousProfile, ErrorKind.InvalidArgument,
            $"Unit '{unit}' has measurements of model '{model}' from {choices.Length} sources: {string.Join("; ", choices)}. " +
            "Say which to use with -MachineName and/or -BackendOptions (or the model file, for its hash).", choices);
    }

    private static void CheckOneRowPerSize(string unit, List<PerfEntry> rows)
    {
        var clash = rows.GroupBy(r => r.BatchSize).FirstOrDefault(g => g.Count() > 1);
        if (clash is null) return;
        var choices = clash.Select(r => $"backend '{r.Backend}', device '{r.DeviceName}', status {r.Status}, measured {r.Timestamp:u}").ToArray();
        throw new HeteroBatchException(PlanningErrorIds.AmbiguousProfile, ErrorKind.InvalidArgument,
            $"Unit '{unit}' has {choices.Length} rows for batch size {clash.Key}: {string.Join("; ", choices)}. " +
            "Remove the stale rows from the performance table, or measure the unit again.", choices);
    }

    private static HeteroBatchException InvalidRow(string unit, PerfEntry r, string what) =>
        new(PlanningErrorIds.InvalidProfile, ErrorKind.InvalidData,
            $"The performance table row of unit '{unit}', model '{r.Model}', batch size {r.BatchSize} has an unusable {what}. " +
            $"Measure it again: Measure-BatchProfile -Model {r.Model} -Unit {unit}.", r);

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
