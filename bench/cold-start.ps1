<#
.SYNOPSIS
    Issue 11: what a new pwsh pays before and during its first calls (every scheduled job is one), the staged module
    with ReadyToRun code against the same module as plain IL (JIT), timed around the cmdlet, alternating back to back.
.DESCRIPTION
    dotnet pwsh -NoProfile ./build.ps1 Build -NoReadyToRun; Copy-Item out/HeteroBatch /tmp/hb-il -Recurse
    dotnet pwsh -NoProfile ./build.ps1 Build
    dotnet pwsh -NoProfile ./bench/cold-start.ps1 -Out /tmp/hb-cold -BaselineModulePath /tmp/hb-il/HeteroBatch.psd1
    Profiles the model on the unit once (untimed, into OUT/perf.json). Then, per round and build (the order alternates),
    a new pwsh (-NoProfile) imports the module and calls Invoke-HeteroInference (synthetic input, -NoAutoProfile) at
    each of -Sizes in turn, twice over: the first pass is each size's first call in the process (the very first call
    is the process's cold call), the second pass the same sizes again. The parent times the whole process; the child
    times the import and each call with a Stopwatch around the cmdlet, and records WallMs, SetupMs, PlanningMs, what the
    JIT compiled in the step (methods, ms) and any full GC (count, pause).
    Writes OUT/cold-start.json and prints the medians.
#>
param(
    [Parameter(Mandatory)] [string] $Out,
    [Parameter(Mandatory)] [string] $BaselineModulePath,
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/HeteroBatch/HeteroBatch.psd1'),
    [string] $Model = 'tinynet',
    [string[]] $Unit = @('cpu'),
    [string[]] $Sizes = @(100, 37, 128, 99, 256, 1000),
    [int] $Rounds = 8,
    # Internal: the module to import in a child process; prints one JSON record.
    [string] $Child
)
$ErrorActionPreference = 'Stop'
$env:HETEROBATCH_PERFTABLE = Join-Path $Out 'perf.json'
# -File passes 'a,b' as one string.
$Unit = @($Unit | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
$sizeList = [int[]]@($Sizes | ForEach-Object { "$_" -split ',' } | Where-Object { $_ })

if ($Child) {
    # What the JIT compiled during each step (methods, ms), and any full GC: where a first call's time goes.
    function Jit { [pscustomobject]@{ Methods = [Runtime.JitInfo]::GetCompiledMethodCount($false); Ms = [Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds
        Gen2 = [GC]::CollectionCount(2); PauseMs = [GC]::GetTotalPauseDuration().TotalMilliseconds } }
    $before = Jit
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Import-Module $Child
    $importMs = $clock.Elapsed.TotalMilliseconds
    $after = Jit
    $import = [ordered]@{ import_ms = $importMs; jit_methods = $after.Methods - $before.Methods; jit_ms = $after.Ms - $before.Ms }
    $calls = foreach ($pass in 1, 2) {
        foreach ($n in $sizeList) {
            $before = Jit
            $clock.Restart()
            $r = Invoke-HeteroInference -Model $Model -Unit $Unit -BatchSize $n -NoAutoProfile
            $around = $clock.Elapsed.TotalMilliseconds
            $after = Jit
            [ordered]@{ pass = $pass; n = $n; around_ms = $around; wall_ms = $r.WallMs; setup_ms = $r.SetupMs
                planning_ms = $r.Plan.PlanningMs; predicted_ms = $r.PredictedMs; jit_methods = $after.Methods - $before.Methods
                jit_ms = $after.Ms - $before.Ms; gen2 = $after.Gen2 - $before.Gen2; gc_pause_ms = $after.PauseMs - $before.PauseMs }
        }
    }
    ($import + [ordered]@{ calls = @($calls) }) | ConvertTo-Json -Depth 4 -Compress
    return
}

$null = New-Item -ItemType Directory -Force $Out
$builds = [ordered]@{ readytorun = (Resolve-Path $ModulePath).Path; il = (Resolve-Path $BaselineModulePath).Path }
$hostPath = [Environment]::ProcessPath
$pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }
function Invoke-Child([string] $Module) {
    $args2 = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $PSCommandPath, '-Out', $Out,
        '-BaselineModulePath', $BaselineModulePath, '-Model', $Model, '-Unit', ($Unit -join ','), '-Sizes', ($sizeList -join ','), '-Child', $Module)
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $text = & $pwsh[0] @args2
    $processMs = $clock.Elapsed.TotalMilliseconds
    if ($LASTEXITCODE -ne 0) { throw "child failed: $text" }
    $record = ($text | Select-Object -Last 1) | ConvertFrom-Json
    $record | Add-Member process_ms $processMs -PassThru
}

# Untimed: the table both builds plan from (the profile is the same model and unit).
& $pwsh[0] @(@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command',
    "Import-Module '$($builds.readytorun)'; `$null = Measure-BatchProfile -Model $Model -Unit $($Unit -join ',') -Save"))
if ($LASTEXITCODE -ne 0) { throw 'profiling failed' }

$runs = [Collections.Generic.List[object]]::new()
for ($round = 1; $round -le $Rounds; $round++) {
    $order = if ($round % 2) { 'readytorun', 'il' } else { 'il', 'readytorun' }
    foreach ($b in $order) {
        $r = Invoke-Child $builds[$b]
        $r | Add-Member build $b; $r | Add-Member round $round
        $runs.Add($r)
        Write-Host ('round {0} {1,-10} process {2,6:N0} ms  import {3,5:N0}  first call {4,6:N1}' -f $round, $b, $r.process_ms, $r.import_ms, $r.calls[0].around_ms)
    }
}

function Median([double[]] $v) { $s = @($v | Sort-Object); if ($s.Count % 2) { $s[[Math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
$summary = [ordered]@{}
foreach ($b in $builds.Keys) {
    $mine = @($runs | Where-Object build -eq $b)
    $perSize = [ordered]@{}
    foreach ($n in $sizeList) {
        $first = @($mine | ForEach-Object { $_.calls | Where-Object { $_.pass -eq 1 -and $_.n -eq $n } })
        $again = @($mine | ForEach-Object { $_.calls | Where-Object { $_.pass -eq 2 -and $_.n -eq $n } })
        $perSize["$n"] = [ordered]@{ first_around_ms = Median $first.around_ms; first_wall_ms = Median $first.wall_ms
            first_jit_ms = Median $first.jit_ms; first_gc_pause_ms = Median $first.gc_pause_ms
            again_around_ms = Median $again.around_ms; again_wall_ms = Median $again.wall_ms }
    }
    $summary[$b] = [ordered]@{ process_ms = Median $mine.process_ms; import_ms = Median $mine.import_ms; import_jit_ms = Median $mine.jit_ms
        first_call_jit_methods = Median @($mine | ForEach-Object { $_.calls[0].jit_methods }); first_call_jit_ms = Median @($mine | ForEach-Object { $_.calls[0].jit_ms })
        first_call_setup_ms = Median @($mine | ForEach-Object { $_.calls[0].setup_ms }); first_call_planning_ms = Median @($mine | ForEach-Object { $_.calls[0].planning_ms })
        sizes = $perSize }
}
[ordered]@{
    date = (Get-Date).ToUniversalTime().ToString('o'); module = (Get-Module -ListAvailable $builds.readytorun).Version.ToString()
    cores = [Environment]::ProcessorCount; dotnet = [Environment]::Version.ToString(); pwsh = $PSVersionTable.PSVersion.ToString()
    os = [Runtime.InteropServices.RuntimeInformation]::OSDescription; cpu = ((Get-Content /proc/cpuinfo -ErrorAction Ignore) -match '^model name' | Select-Object -First 1) -replace '^model name\s*:\s*'
    crossgen2 = @(Get-ChildItem (Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/microsoft.netcore.app.crossgen2.*') -Directory -ErrorAction Ignore | Get-ChildItem -Directory | ForEach-Object { "$($_.Parent.Name) $($_.Name)" })
    model = $Model; unit = $Unit; sizes = $sizeList; rounds = $Rounds
    summary = $summary; runs = $runs
} | ConvertTo-Json -Depth 8 | Set-Content (Join-Path $Out 'cold-start.json')
$summary | ConvertTo-Json -Depth 5
