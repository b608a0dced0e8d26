using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace HeteroBatch.Engine.Units;

/// <summary>
/// The machine's CPU as one unit (<c>cpu</c>): model name, cores, ISA features and memory, read from
/// /proc on Linux and from CPUID and the Win32 API elsewhere.
/// </summary>
public sealed class CpuUnitProvider : IComputeUnitProvider
{
    public const string UnitId = "cpu";

    /// <summary>/proc/cpuinfo flag → feature name shown to users, in the order they are listed.</summary>
    private static readonly (string Flag, string Feature)[] FlagFeatures =
    {
        ("sse4_2", "SSE4.2"), ("avx", "AVX"), ("avx2", "AVX2"), ("fma", "FMA"), ("f16c", "F16C"),
        ("avx_vnni", "AVX_VNNI"), ("avx512f", "AVX512F"), ("avx512bw", "AVX512BW"), ("avx512vl", "AVX512VL"),
        ("avx512_vnni", "AVX512_VNNI"), ("avx512_bf16", "AVX512_BF16"), ("avx512_fp16", "AVX512_FP16"),
        ("amx_tile", "AMX_TILE"), ("amx_bf16", "AMX_BF16"), ("amx_int8", "AMX_INT8"),
        ("asimd", "NEON"), ("asimddp", "DOTPROD"), ("sve", "SVE"), ("sve2", "SVE2"), ("bf16", "BF16"), ("i8mm", "I8MM"),
    };

    public string Family => "cpu";

    public IReadOnlyList<ComputeUnit> Discover()
    {
        CpuFacts facts = OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")
            ? ParseCpuInfo(File.ReadAllText("/proc/cpuinfo"))
            : FromCpuId();

        long? memory = ReadTotalMemoryBytes();
        return new[]
        {
            new ComputeUnit
            {
                Id = UnitId,
                Kind = ComputeUnitKind.Cpu,
                Backend = UnitBackends.OrtCpu,
                Name = facts.ModelName,
                DeviceIndex = 0,
                MemoryBytes = memory,
                PhysicalCores = facts.PhysicalCores,
                // What this process may use (affinity, container quota), never more than the machine has.
                LogicalCores = Math.Min(Environment.ProcessorCount, facts.LogicalCores ?? int.MaxValue),
                Features = facts.Features,
            },
        };
    }

    /// <summary>What the OS says about the CPU.</summary>
    public sealed record CpuFacts(string ModelName, int? PhysicalCores, int? LogicalCores, string[] Features);

    /// <summary>Parses the text of /proc/cpuinfo (x86 and Arm layouts).</summary>
    public static CpuFacts ParseCpuInfo(string cpuInfo)
    {
        string? model = null;
        string? flags = null;
        int logical = 0;
        var cores = new HashSet<(string Package, string Core)>();
        string package = "0";
        int? coresPerPackage = null;
        var packages = new HashSet<string>();

        foreach (var rawLine in cpuInfo.Split('\n'))
        {
            var colon = rawLine.IndexOf(':');
            if (colon < 0) continue;
            var key = rawLine[..colon].Trim();
            var value = rawLine[(colon + 1)..].Trim();
            switch (key)
            {
                case "processor": logical++; break;
                case "model name" or "Model Name" or "cpu model": model ??= value; break;
                case "flags" or "Features": flags ??= value; break;
                case "physical id": package = value; packages.Add(value); break;
                case "core id": cores.Add((package, value)); break;
                case "cpu cores" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var c): coresPerPackage ??= c; break;
            }
        }

        int? physical = cores.Count > 0 ? cores.Count
            : coresPerPackage is int perPackage ? perPackage * Math.Max(1, packages.Count)
            : logical > 0 ? logical : null;

        var flagSet = new HashSet<string>((flags ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase);
        var features = FlagFeatures.Where(f => flagSet.Contains(f.Flag)).Select(f => f.Feature).ToArray();

        return new CpuFacts(
            string.IsNullOrWhiteSpace(model) ? RuntimeInformation.ProcessArchitecture + " CPU" : model,
            physical,
            logical > 0 ? logical : null,
            features);
    }

    /// <summary>Windows/macOS (and Linux without /proc): CPUID for x86, the runtime for the rest.</summary>
    private static CpuFacts FromCpuId()
    {
        var features = new List<string>();
        string model = RuntimeInformation.ProcessArchitecture + " CPU";
        if (X86Base.IsSupported)
        {
            model = ReadBrandString() ?? model;
            if (Sse42.IsSupported) features.Add("SSE4.2");
            if (Avx.IsSupported) features.Add("AVX");
            if (Avx2.IsSupported) features.Add("AVX2");
            if (Fma.IsSupported) features.Add("FMA");
            if (AvxVnni.IsSupported) features.Add("AVX_VNNI");
            if (Avx512F.IsSupported)
            {
                features.Add("AVX512F");
                if (Avx512BW.IsSupported) features.Add("AVX512BW");
                // The runtime exposes no class for these; CPUID leaf 7 has them, and Avx512F.IsSupported
                // already proved the OS saves the ZMM state.
                var (_, _, ecx7, edx7) = X86Base.CpuId(7, 0);
                var (eax71, _, _, _) = X86Base.CpuId(7, 1);
                if ((ecx7 & (1 << 11)) != 0) features.Add("AVX512_VNNI");
                if ((eax71 & (1 << 5)) != 0) features.Add("AVX512_BF16");
                if ((edx7 & (1 << 23)) != 0) features.Add("AVX512_FP16");
                if ((edx7 & (1 << 24)) != 0) features.Add("AMX_TILE");
                if ((edx7 & (1 << 22)) != 0) features.Add("AMX_BF16");
                if ((edx7 & (1 << 25)) != 0) features.Add("AMX_INT8");
            }
        }
        int? physical = OperatingSystem.IsWindows() ? WindowsProcessorInfo.CountPhysicalCores() : null;
        return new CpuFacts(model, physical ?? Environment.ProcessorCount, Environment.ProcessorCount, features.ToArray());
    }

    private static string? ReadBrandString()
    {
        var (maxExtended, _, _, _) = X86Base.CpuId(unchecked((int)0x80000000), 0);
        if ((uint)maxExtended < 0x80000004) return null;
        var bytes = new byte[48];
        for (int i = 0; i < 3; i++)
        {
            var (a, b, c, d) = X86Base.CpuId(unchecked((int)0x80000002) + i, 0);
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 0), a);
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 4), b);
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 8), c);
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 12), d);
        }
        var brand = System.Text.Encoding.ASCII.GetString(bytes).TrimEnd('\0').Trim();
        return brand.Length > 0 ? brand : null;
    }

    /// <summary>MemTotal on Linux, bounded by the container limit the GC sees; the GC's view elsewhere.</summary>
    private static long? ReadTotalMemoryBytes()
    {
        long gcLimit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long? memTotal = null;
        if (OperatingSystem.IsLinux() && File.Exists("/proc/meminfo"))
        {
            memTotal = ParseMemTotal(File.ReadAllText("/proc/meminfo"));
        }
        if (memTotal is long m && gcLimit > 0) return Math.Min(m, gcLimit);
        return memTotal ?? (gcLimit > 0 ? gcLimit : null);
    }

    /// <summary>MemTotal of /proc/meminfo in bytes.</summary>
    public static long? ParseMemTotal(string memInfo)
    {
        foreach (var line in memInfo.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            var parts = line["MemTotal:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
                return kb * 1024;
        }
        return null;
    }
}

/// <summary>Physical core count on Windows (GetLogicalProcessorInformationEx, RelationProcessorCore).</summary>
internal static class WindowsProcessorInfo
{
    [DllImport("kernel32.dll", SetLastError = true)]
    private static extern bool GetLogicalProcessorInformationEx(int relationshipType, IntPtr buffer, ref uint returnedLength);

    public static int? CountPhysicalCores()
    {
        const int RelationProcessorCore = 0;
        try
        {
            uint length = 0;
            GetLogicalProcessorInformationEx(RelationProcessorCore, IntPtr.Zero, ref length);
            if (length == 0) return null;
            var buffer = Marshal.AllocHGlobal((int)length);
            try
            {
                if (!GetLogicalProcessorInformationEx(RelationProcessorCore, buffer, ref length)) return null;
                int count = 0;
                for (uint offset = 0; offset < length;)
                {
                    // SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX: Relationship (int), Size (uint), ...
                    uint size = (uint)Marshal.ReadInt32(buffer, (int)offset + 4);
                    if (size == 0) break;
                    count++;
                    offset += size;
                }
                return count > 0 ? count : null;
            }
            finally { Marshal.FreeHGlobal(buffer); }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
