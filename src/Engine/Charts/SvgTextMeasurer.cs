using OxyPlot;

namespace HeteroBatch.Engine.Charts;

/// <summary>
/// Measures text while an SVG is laid out. OxyPlot's default (PDF Helvetica metrics) under-measures line height
/// and the sans fonts Linux viewers substitute, so labels crowd; Skia measures with a real installed sans font
/// (the widest of the usual ones wins ties in favour of fitting). Without Skia, the PDF metrics are widened.
/// </summary>
internal sealed class SvgTextMeasurer : RenderContextBase, IDisposable
{
    private readonly OxyPlot.SkiaSharp.SkiaRenderContext? _skia;
    private readonly string _family;
    private readonly PdfRenderContext _pdf = new(100, 100, OxyColors.White);

    public SvgTextMeasurer(string family, bool useSkia)
    {
        _family = family;
        if (useSkia) _skia = new OxyPlot.SkiaSharp.SkiaRenderContext { UseTextShaping = false };
    }

    public override OxySize MeasureText(string text, string fontFamily, double fontSize, double fontWeight)
    {
        if (string.IsNullOrEmpty(text)) return OxySize.Empty;
        if (_skia is not null) return _skia.MeasureText(text, _family, fontSize, fontWeight);
        var size = _pdf.MeasureText(text, "Helvetica", fontSize, fontWeight);
        int lines = text.Split('\n').Length;
        return new OxySize(size.Width * 1.1, Math.Max(size.Height, fontSize * 1.2 * lines));
    }

    public override void DrawText(ScreenPoint p, string text, OxyColor fill, string fontFamily, double fontSize, double fontWeight,
        double rotation, HorizontalAlignment halign, VerticalAlignment valign, OxySize? maxSize) =>
        throw NotDrawing();

    public override void DrawLine(IList<ScreenPoint> points, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode,
        double[]? dashArray, LineJoin lineJoin) => throw NotDrawing();

    public override void DrawPolygon(IList<ScreenPoint> points, OxyColor fill, OxyColor stroke, double thickness,
        EdgeRenderingMode edgeRenderingMode, double[]? dashArray, LineJoin lineJoin) => throw NotDrawing();

    public override int ClipCount => 0;
    public override void PushClip(OxyRect clippingRectangle) => throw NotDrawing();
    public override void PopClip() => throw NotDrawing();

    private static NotSupportedException NotDrawing() => new("The SVG text measurer draws nothing.");

    public void Dispose() => _skia?.Dispose();
}
