<#
.SYNOPSIS
    Issue 12: Invoke-HeteroDataset's two schedules (PerBatch, Pull) on this machine's CPU, timed around the cmdlet in a
    fresh pwsh each, alternating back to back (results: bench/results/stream-schedule-2026-12-01.md).
.DESCRIPTION
    dotnet pwsh -NoProfile ./build.ps1 Build
    dotnet pwsh -NoProfile ./bench/stream-schedule.ps1 -Out /tmp/hb-sched [-Count 1000] [-Rounds 3]
    Generates -Count JPEGs with the dataset tests' New-TestJpegFolder (tests/Pester/TestHelpers.psm1; 60-260 px, seed 11), profiles through a
    64-image run of every configuration (untimed: auto-profile with the exact options the stream uses), then for each
    round runs every configuration in a fresh pwsh: cpu, and the CPU as two slices (cpu:0, cpu:1), each PerBatch and
    Pull, mobilenet, batch 32, 3 batches in flight, decode workers picked, .npy output, -NoAutoProfile. Writes OUT/runs.json
    (one record per run: cmdlet wall time, the summary, per-unit report, load average) and checks the outputs of the two
    schedules are the same rows.
#>
param(
    [Parameter(Mandatory)] [string] $Out,
    [int] $Count = 1000,
    [int] $Rounds = 3,
    [int] $BatchSize = 32,
    [string] $Model = 'mobilenet',
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/HeteroBatch/HeteroBatch.psd1'),
    # Internal: run one configuration and print its record as JSON.
    [string] $Child
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$data = Join-Path $Out 'data'
$env:HETEROBATCH_PERFTABLE = Join-Path $Out 'perf.json'

if ($Child) {
    $c = $Child | ConvertFrom-Json
    Import-Module $ModulePath
    $npy = Join-Path $Out "$($c.name -replace '[^a-z0-9]+', '-').npy"
    Remove-Item $npy -ErrorAction Ignore
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $s = Invoke-HeteroDataset $Model $c.data -Unit $c.units -Schedule $c.schedule -BatchSize $BatchSize -OutputPath $npy -NoAutoProfile:$c.noAuto
    $wall = $clock.Elapsed.TotalSeconds
    [ordered]@{
        name = $c.name; schedule = $s.Schedule; units = $c.units; items = $s.Items; wall_s_cmdlet = $wall; items_per_s_cmdlet = $s.Items / $wall
        wall_s_summary = $s.WallSeconds; items_per_s = $s.ItemsPerSecond; setup_s = $s.SetupSeconds; unit_shares = $s.UnitShares
        core_split = $s.CoreSplit; decode_workers = $s.DecodeWorkers; cpu_threads = $s.CpuInferenceThreads
        decode_s = $s.DecodeSeconds; wait_for_decode_s = $s.WaitForDecodeSeconds; inference_s = $s.InferenceSeconds
        peak_buffers = $s.PeakBuffersInUse; batches = $s.Batches; npy = $npy
        per_unit = @($s.Units | Select-Object Unit, Items, Share, BusySeconds, ItemsPerSecond, Threads, ChunkSize, Chunks)
        load = (Get-Content /proc/loadavg -ErrorAction Ignore)
    } | ConvertTo-Json -Depth 5 -Compress
    return
}

$null = New-Item -ItemType Directory -Force $Out
Import-Module $ModulePath
Add-Type -Path (Join-Path (Split-Path $ModulePath) 'SkiaSharp.dll')
Import-Module (Join-Path $PSScriptRoot '../tests/Pester/TestHelpers.psm1')
if (@(Get-ChildItem $data -Filter *.jpg -ErrorAction Ignore).Count -ne $Count) {
    Remove-Item $data -Recurse -ErrorAction Ignore
    $null = New-TestJpegFolder $data $Count -Seed 11
}
$small = Join-Path $Out 'warm'
if (-not (Test-Path $small)) { $null = New-Item -ItemType Directory $small; Get-ChildItem $data -Filter *.jpg | Select-Object -First 64 | Copy-Item -Destination $small }

$hostPath = [Environment]::ProcessPath
$pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }
function Invoke-Child([hashtable] $Config) {
    $json = ($Config | ConvertTo-Json -Compress)
    $args2 = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $PSCommandPath, '-Out', $Out, '-Model', $Model,
        '-BatchSize', $BatchSize, '-ModulePath', $ModulePath, '-Child', $json)
    $text = & $pwsh[0] @args2
    if ($LASTEXITCODE -ne 0) { throw "child failed: $text" }
    ($text | Select-Object -Last 1) | ConvertFrom-Json
}

$configs = @(
    @{ name = 'cpu perbatch'; units = @('cpu'); schedule = 'PerBatch' }
    @{ name = 'cpu pull'; units = @('cpu'); schedule = 'Pull' }
    @{ name = 'cpu:0+cpu:1 perbatch'; units = @('cpu:0', 'cpu:1'); schedule = 'PerBatch' }
    @{ name = 'cpu:0+cpu:1 pull'; units = @('cpu:0', 'cpu:1'); schedule = 'Pull' }
)
# Untimed: profiles what the table lacks with the options each configuration runs with.
foreach ($c in $configs) { $null = Invoke-Child ($c + @{ data = $small; noAuto = $false }) }

$runs = [Collections.Generic.List[object]]::new()
for ($round = 1; $round -le $Rounds; $round++) {
    # Alternate the order so neither schedule always runs first in a round.
    $ordered = if ($round % 2) { $configs } else { $configs[1, 0, 3, 2] }
    foreach ($c in $ordered) {
        $r = Invoke-Child ($c + @{ data = $data; noAuto = $true })
        $r | Add-Member round $round
        $runs.Add($r)
        Write-Host ('round {0} {1,-22} {2,6:N1} items/s (cmdlet {3,6:N1}, wall {4,5:N1} s)  {5}  [load {6}]' -f $round, $r.name, $r.items_per_s, $r.items_per_s_cmdlet, $r.wall_s_cmdlet, $r.unit_shares, $r.load)
    }
}

# Same rows from both schedules.
$check = [ordered]@{}
foreach ($pair in @(@('cpu perbatch', 'cpu pull'), @('cpu:0+cpu:1 perbatch', 'cpu:0+cpu:1 pull'))) {
    $a = [HeteroBatch.Engine.Inputs.NpyFile]::Read(($runs | Where-Object name -eq $pair[0] | Select-Object -Last 1).npy)
    $b = [HeteroBatch.Engine.Inputs.NpyFile]::Read(($runs | Where-Object name -eq $pair[1] | Select-Object -Last 1).npy)
    $worst = 0.0
    for ($i = 0; $i -lt $a.Item1.Length; $i++) { $worst = [Math]::Max($worst, [Math]::Abs($a.Item1[$i] - $b.Item1[$i])) }
    $check["$($pair[0]) vs $($pair[1])"] = [ordered]@{ shape_a = $a.Item2; shape_b = $b.Item2; max_abs_diff = $worst }
}
[ordered]@{
    date = (Get-Date).ToUniversalTime().ToString('o'); module = (Get-Module HeteroBatch).Version.ToString(); cores = [Environment]::ProcessorCount
    dotnet = [Environment]::Version.ToString(); pwsh = $PSVersionTable.PSVersion.ToString(); images = $Count; model = $Model; batch = $BatchSize
    runs = $runs; same_rows = $check
} | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Out 'runs.json')
$check | ConvertTo-Json -Depth 4
