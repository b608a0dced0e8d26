using System.Xml;
using System.Xml.Linq;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Planning;
using HeteroBatch.Engine.Table;

namespace HeteroBatch.Engine.Tests.Charts;

/// <summary>Inputs the chart tests draw: the paper's CPU/IGPU/GPU machine, and helpers to read what was drawn.</summary>
internal static class ChartFixtures
{
    public const string ModelName = "resnet-50";
    public const string Machine = "paper-i7";

    /// <summary>ms for the whole batch on the GPU; not monotone (17 costs more than 16, 33 than 32).</summary>
    public static readonly (int Size, double Ms)[] Gpu =
    {
        (1, 3.1), (2, 3.3), (4, 3.8), (8, 5.0), (16, 7.5), (17, 11.9), (32, 12.0), (33, 19.5), (64, 22.8), (65, 33.0), (128, 44.0),
    };

    public static List<PerfEntry> PaperRows(string model = ModelName, string machine = Machine)
    {
        var rows = new List<PerfEntry>();
        foreach (var (b, ms) in Gpu)
        {
            rows.Add(new PerfEntry { Model = model, MachineName = machine, Unit = "GPU", BatchSize = b, ExecMs = ms, IoMs = 0.1 * b });
            rows.Add(new PerfEntry { Model = model, MachineName = machine, Unit = "CPU", BatchSize = b, ExecMs = 9.0 * b + 2 });
            rows.Add(new PerfEntry { Model = model, MachineName = machine, Unit = "IGPU", BatchSize = b, ExecMs = 5.0 * b + 4, IoMs = 0.2 * b });
        }
        return rows;
    }

    public static BatchPlan PaperPlan(int batchSize = 100) =>
        BatchPlanner.Plan(PaperRows(), new PlanRequest { Model = ModelName, BatchSize = batchSize, Units = new[] { "CPU", "IGPU", "GPU" }, MachineName = Machine });

    /// <summary>A run of <see cref="PaperPlan"/> as the executor reports it (actual = predicted × the given factors).</summary>
    public static InferenceResult PaperResult(double wallMs, params double[] slowdown)
    {
        var plan = PaperPlan();
        return new InferenceResult
        {
            Model = ModelName,
            BatchSize = plan.BatchSize,
            WallMs = wallMs,
            PredictedMs = plan.PredictedMs,
            Plan = plan,
            Units = plan.Shares.Select((s, i) => new UnitRunReport
            {
                Unit = s.Unit, Items = s.Items, Offset = s.Offset, ItemsCompleted = s.Items,
                PredictedMs = s.PredictedMs, ActualMs = s.PredictedMs * slowdown[i],
            }).ToArray(),
        };
    }

    /// <summary>Parses SVG text the strict way (no DTD allowed), so a test fails on anything a safe reader refuses.</summary>
    public static XDocument ParseSvg(string svg)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader(svg), settings);
        return XDocument.Load(reader);
    }

    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>Every piece of text drawn in the SVG.</summary>
    public static List<string> Texts(XDocument doc) =>
        doc.Descendants(Svg + "text").Select(t => t.Value).ToList();

    /// <summary>Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian).</summary>
    public static (int Width, int Height) PngSize(byte[] png)
    {
        byte[] signature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        if (png.Length < 24 || !png.AsSpan(0, 8).SequenceEqual(signature)) throw new InvalidDataException("Not a PNG.");
        if (System.Text.Encoding.ASCII.GetString(png, 12, 4) != "IHDR") throw new InvalidDataException("The first chunk is not IHDR.");
        int Read(int at) => (png[at] << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
        return (Read(16), Read(20));
    }

    public static string TempFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hb-charts-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
