using System.Globalization;

namespace HeteroBatch.Engine.Table;

/// <summary>
/// Options that change how fast a unit runs. They are part of the perf-table key, so a table measured
/// with 4 CPU threads never plans a run with 16. <see cref="Key"/> is the canonical, order-independent form.
/// </summary>
public sealed record BackendOptions
{
    /// <summary>Intra-op threads of the session; 0 = backend default.</summary>
    public int IntraOpThreads { get; init; }
    /// <summary>Backend-specific settings (e.g. cudnn_conv_algo_search=EXHAUSTIVE), compared by value.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    public static BackendOptions Default { get; } = new();

    /// <summary>Canonical text such as <c>threads=2;use_tf32=1</c>; empty for defaults.</summary>
    public string Key
    {
        get
        {
            var parts = new List<string>();
            if (IntraOpThreads > 0) parts.Add("threads=" + IntraOpThreads.ToString(CultureInfo.InvariantCulture));
            parts.AddRange(Settings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));
            return string.Join(";", parts);
        }
    }

    /// <summary>Parses <see cref="Key"/> text back into options.</summary>
    public static BackendOptions Parse(string? key)
    {
        if (string.IsNullOrWhiteSpace(key)) return Default;
        int threads = 0;
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in key.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw new Errors.HeteroBatchException(TableErrorIds.InvalidBackendOptions, Errors.ErrorKind.InvalidArgument,
                $"Backend option '{part}' is not of the form name=value.", part);
            var name = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (name == "threads" && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t)) threads = t;
            else settings[name] = value;
        }
        return new BackendOptions { IntraOpThreads = threads, Settings = settings };
    }

    public bool Equals(BackendOptions? other) => other is not null && Key == other.Key;
    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);
}
