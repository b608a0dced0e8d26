# Diagnostic (issue 12): the GPU+CPU stream's MissingProfile. Profiles cpu with -ThreadCount 1 and gpu0, streams with
# -Unit gpu0,cpu -NoAutoProfile -Verbose, and prints the table's rows with their options.
param([string] $Out = '/tmp/hb-probe')
Import-Module $env:HB_MODULE
Add-Type -Path (Join-Path (Split-Path $env:HB_MODULE) 'SkiaSharp.dll')
$null = New-Item -ItemType Directory -Force $Out, "$Out/img"
$env:HETEROBATCH_PERFTABLE = "$Out/table.json"
for ($i = 0; $i -lt 64; $i++) {
  $bitmap = [SkiaSharp.SKBitmap]::new(300, 240)
  $canvas = [SkiaSharp.SKCanvas]::new($bitmap); $canvas.Clear([SkiaSharp.SKColor]::new(10, [byte](3 * $i), 30)); $canvas.Dispose()
  $data = $bitmap.Encode([SkiaSharp.SKEncodedImageFormat]::Jpeg, 90)
  [IO.File]::WriteAllBytes((Join-Path "$Out/img" ('img{0:D4}.jpg' -f $i)), $data.ToArray())
}
"ProcessorCount: $([Environment]::ProcessorCount)"
Get-ComputeUnit | Format-Table Id, Name, Available, LogicalCores
Measure-BatchProfile -Model mobilenet -Unit gpu0 -BatchSize 1, 8, 32 -Save | Out-Null
Measure-BatchProfile -Model mobilenet -Unit cpu -BatchSize 1, 2, 4 -ThreadCount 1 -Save | Out-Null
Get-PerfTable | Select-Object Model, Unit, MachineName, BatchSize, Status, BackendOptions, Precision, ModelHash | Format-Table -AutoSize | Out-String -Width 200
try {
  $s = Get-ChildItem "$Out/img" -Filter *.jpg | Invoke-HeteroDataset -Model mobilenet -Unit gpu0, cpu -BatchSize 32 -NoAutoProfile -Verbose 4>&1 -ErrorAction Stop
  $s | Out-String -Width 200
} catch { "FAILED: $_"; $_.Exception.GetType().FullName; $_.ScriptStackTrace }
