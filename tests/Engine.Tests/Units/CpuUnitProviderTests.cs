using HeteroBatch.Engine.Units;
using Xunit;

namespace HeteroBatch.Engine.Tests.Units;

public class CpuUnitProviderTests
{
    // Two sockets, two cores each, hyper-threading: 8 logical, 4 physical.
    private static string TwoSocketCpuInfo()
    {
        var blocks = new List<string>();
        int processor = 0;
        foreach (var socket in new[] { 0, 1 })
            foreach (var core in new[] { 0, 1 })
                foreach (var _ in new[] { 0, 1 })
                    blocks.Add($"processor\t: {processor++}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n" +
                               $"physical id\t: {socket}\nsiblings\t: 4\ncore id\t\t: {core}\ncpu cores\t: 2\n" +
                               "flags\t\t: fpu sse4_2 avx avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8\n");
        return string.Join("\n", blocks);
    }

    [Fact]
    public void Parses_model_cores_and_isa_features_from_proc_cpuinfo()
    {
        var facts = CpuUnitProvider.ParseCpuInfo(TwoSocketCpuInfo());
        Assert.Equal("Intel(R) Xeon(R) Platinum 8480+", facts.ModelName);
        Assert.Equal(8, facts.LogicalCores);
        Assert.Equal(4, facts.PhysicalCores);
        Assert.Equal(new[] { "SSE4.2", "AVX", "AVX2", "FMA", "F16C", "AVX512F", "AVX512BW", "AVX512VL", "AVX512_VNNI", "AVX512_BF16", "AMX_TILE", "AMX_BF16", "AMX_INT8" },
            facts.Features);
    }

    [Fact]
    public void Without_core_ids_falls_back_to_cpu_cores_then_to_processors()
    {
        var noCoreIds = "processor : 0\nmodel name : X\ncpu cores : 4\nflags : avx\n\nprocessor : 1\nmodel name : X\ncpu cores : 4\n";
        Assert.Equal(4, CpuUnitProvider.ParseCpuInfo(noCoreIds).PhysicalCores);
        var arm = "processor : 0\nFeatures : fp asimd asimddp sve\n\nprocessor : 1\nFeatures : fp asimd asimddp sve\n";
        var facts = CpuUnitProvider.ParseCpuInfo(arm);
        Assert.Equal(2, facts.PhysicalCores);
        Assert.Equal(new[] { "NEON", "DOTPROD", "SVE" }, facts.Features);
        Assert.False(string.IsNullOrWhiteSpace(facts.ModelName));
    }

    [Fact]
    public void Reads_MemTotal_in_bytes()
    {
        Assert.Equal(24684084L * 1024, CpuUnitProvider.ParseMemTotal("MemTotal:       24684084 kB\nMemFree:        20676204 kB\n"));
        Assert.Null(CpuUnitProvider.ParseMemTotal("nothing here"));
    }

    [Fact]
    public void This_machines_cpu_features_match_the_runtime_view()
    {
        var cpu = Assert.Single(new CpuUnitProvider().Discover());
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported, cpu.Features.Contains("AVX2"));
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, cpu.Features.Contains("AVX512F"));
        Assert.True(cpu.LogicalCores <= Environment.ProcessorCount);
    }
}
