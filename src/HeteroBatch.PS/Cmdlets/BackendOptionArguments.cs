using System.Collections;
using System.Globalization;
using HeteroBatch.Engine.Backends;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.PS.Cmdlets;

/// <summary>Builds engine BackendOptions from -ThreadCount and -BackendOption @{ name = value }.</summary>
internal static class BackendOptionArguments
{
    public static BackendOptions Build(int threadCount, Hashtable? settings)
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (settings is not null)
        {
            foreach (DictionaryEntry kv in settings)
            {
                map[Convert.ToString(kv.Key, CultureInfo.InvariantCulture) ?? ""] =
                    kv.Value is bool b ? (b ? "1" : "0") : Convert.ToString(kv.Value, CultureInfo.InvariantCulture) ?? "";
            }
        }
        return new BackendOptions { IntraOpThreads = threadCount, Settings = map };
    }
}
