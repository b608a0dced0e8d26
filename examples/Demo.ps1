<#
.SYNOPSIS
    The main job on the embedded default: zoo model mobilenet, batch 32, every available unit.
    Get-ComputeUnit -> auto-profile (only what the table lacks) -> Split-Batch -> Invoke-HeteroInference.
#>
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/HeteroBatch'),
    [string] $Model = 'mobilenet',
    [int] $BatchSize = 32,
    # The demo keeps its own table so it never disturbs the user's.
    [string] $TablePath = (Join-Path ([IO.Path]::GetTempPath()) 'HeteroBatch-demo/perftable.json')
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'HeteroBatch.psd1') -Force

Write-Host "`n# Compute units of $([Environment]::MachineName)" -ForegroundColor Cyan
$units = Get-ComputeUnit
$units | Format-Table | Out-String -Width 200 | Write-Host
$available = $units | Where-Object Available

Write-Host "# Profile $Model where the table ($TablePath) has no numbers yet" -ForegroundColor Cyan
$known = @(Get-PerfTable -Path $TablePath -Model $Model | Select-Object -ExpandProperty Unit -Unique)
$missing = @($available | Where-Object Id -notin $known)
if ($missing) {
    # A short grid keeps the demo quick on a 2-core machine; scheduled jobs profile the full grid.
    $missing | Measure-BatchProfile -Model $Model -BatchSize 1, 2, 4, 8, 16, 32, 33 -Repeat 3 -NoRefine -Save -Path $TablePath |
        Format-Table | Out-String -Width 200 | Write-Host
} else {
    Write-Host "(already profiled: $($known -join ', '))"
}

Write-Host "# Plan batch $BatchSize over $(($available.Id) -join ', ')" -ForegroundColor Cyan
$plan = $available | Split-Batch -Model $Model -BatchSize $BatchSize -Path $TablePath
$plan | Out-String -Width 200 | Write-Host

Write-Host "# Run it" -ForegroundColor Cyan
$result = Invoke-HeteroInference -Model $Model -Plan $plan -BatchSize $BatchSize -Path $TablePath -Top 3
$result | Out-String -Width 200 | Write-Host
Write-Host ("Top-3 classes of item 0 (random weights, so any class): {0}" -f (($result.TopK | Where-Object Item -eq 0 | ForEach-Object { '{0} ({1:P1})' -f $_.ClassIndex, $_.Score }) -join ', '))
