using OxyPlot;
using OxyPlot.Legends;

namespace HeteroBatch.Engine.Charts;

/// <summary>The look every chart shares: palette, fonts, grid and legend.</summary>
internal static class ChartStyle
{
    // Tableau 10: distinguishable, readable on white and when printed in grey.
    public static readonly OxyColor[] Palette =
    {
        OxyColor.Parse("#4E79A7"), OxyColor.Parse("#F28E2B"), OxyColor.Parse("#59A14F"), OxyColor.Parse("#E15759"),
        OxyColor.Parse("#B07AA1"), OxyColor.Parse("#76B7B2"), OxyColor.Parse("#EDC948"), OxyColor.Parse("#FF9DA7"),
        OxyColor.Parse("#9C755F"), OxyColor.Parse("#BAB0AC"),
    };

    public static readonly OxyColor Predicted = OxyColor.Parse("#4E79A7");
    public static readonly OxyColor Actual = OxyColor.Parse("#F28E2B");
    public static readonly OxyColor BestSingle = OxyColor.Parse("#9D9D9D");
    public static readonly OxyColor Failed = OxyColor.Parse("#E15759");
    public static readonly OxyColor Text = OxyColor.Parse("#222222");
    public static readonly OxyColor Axis = OxyColor.Parse("#555555");
    public static readonly OxyColor MajorGrid = OxyColor.Parse("#E3E3E3");
    public static readonly OxyColor MinorGrid = OxyColor.Parse("#F2F2F2");

    public static OxyColor SeriesColor(int index) => Palette[index % Palette.Length];

    public static PlotModel NewModel(string title, string subtitle)
    {
        var model = new PlotModel
        {
            Title = title,
            Subtitle = subtitle,
            TitleFontSize = 18,
            TitleFontWeight = FontWeights.Bold,
            SubtitleFontSize = 12.5,
            DefaultFontSize = 13,
            TextColor = Text,
            TitleColor = Text,
            SubtitleColor = OxyColor.Parse("#555555"),
            PlotAreaBorderColor = Axis,
            PlotAreaBorderThickness = new OxyThickness(0, 0, 0, 1),
            Background = OxyColors.White,
            Padding = new OxyThickness(12, 8, 20, 12),
        };
        return model;
    }

    public static Legend NewLegend(string? title = null) => new()
    {
        LegendTitle = title,
        LegendPlacement = LegendPlacement.Outside,
        LegendPosition = LegendPosition.RightTop,
        LegendOrientation = LegendOrientation.Vertical,
        LegendBackground = OxyColors.White,
        LegendBorder = OxyColors.Undefined,
        LegendFontSize = 13,
        LegendTitleFontSize = 13,
        LegendSymbolLength = 26,
        LegendItemSpacing = 10,
        LegendPadding = 8,
        LegendMargin = 12,
    };
}
