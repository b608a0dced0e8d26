<#
.SYNOPSIS
    The cmdlet bench of issue 11: every number timed around the cmdlet, in a pwsh that imported the staged module.
.DESCRIPTION
    Run on the GPU machine after torch_tuned.py (same run, same ONNX files):
      /tmp/gpu-unpacked/.gpu-stage/run-pwsh.sh -File .../extra/Invoke-CmdletBench.ps1 -ModelDir DIR -Out DIR
    Sections (each timed around Invoke-HeteroInference with a Stopwatch, the first call of each kind reported apart):
      profile   Measure-BatchProfile -Save of every model on gpu0 (fp32, fp16) at the bucket sizes, ResNet-50 on the CPU
      b128      input held in memory (New-HeteroBatch), output in memory (-PassThru), one GPU, fp32 and fp16; then the
                first model's time outside the run through the engine's entry point directly and through the cmdlet
      npy       .npy file -> .npy file, b128, fp32
      sequence  sizes 37,100,128,99,256,1000 four rounds, in a new pwsh: once after -WarmUp, once lazily warmed
                (each call with what the JIT compiled and any full GC during it)
      predict   predicted vs actual: CPU alone, GPU alone, GPU+CPU (and two GPUs, two GPUs+CPU where a second GPU is
                available), N in 37,100,128,256,1000
      cold      a new pwsh that imports the module and runs ResNet-50 b128 once on the GPU (total wall time)
    Writes OUT/cmdlet_bench.json.
#>
param(
    [Parameter(Mandatory)] [string] $ModelDir,
    [Parameter(Mandatory)] [string] $Out,
    [string[]] $Models = @('resnet50', 'mobilenet_v2', 'vgg16'),
    [int[]] $GpuSizes = @(1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256),
    [int[]] $CpuSizes = @(1, 2, 4, 8, 16, 32),
    [int] $Threads = 15,
    # The GPU unit (a CPU id here runs the script through on a machine without one, to check it).
    [string] $Gpu = 'gpu0',
    [int] $Repeats = 20,
    [string[]] $Sections = @('profile', 'b128', 'npy', 'sequence', 'predict', 'cold')
)
$ErrorActionPreference = 'Stop'
# -File passes 'a,b' as one string.
$Sections = @($Sections | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
$Models = @($Models | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
Import-Module $env:HB_MODULE
$work = '/tmp/hb-bench'
$null = New-Item -ItemType Directory -Force $work
$env:HETEROBATCH_PERFTABLE = Join-Path $work 'table.json'
$runPwsh = Join-Path (Split-Path $PSScriptRoot) 'run-pwsh.sh'
$R = [ordered]@{
    date = (Get-Date).ToUniversalTime().ToString('o'); pwsh = $PSVersionTable.PSVersion.ToString()
    module = (Get-Module HeteroBatch).Version.ToString(); dotnet = [Environment]::Version.ToString()
    onnxruntime = $(try { [Microsoft.ML.OnnxRuntime.OrtEnv]::Instance().GetVersionString() } catch { 'unknown' })
    units = @(Get-ComputeUnit | Select-Object Id, Name, Available, LogicalCores, MemoryBytes, Reason)
    threads = $Threads; gpuSizes = $GpuSizes; cpuSizes = $CpuSizes
}
function Save { $R | ConvertTo-Json -Depth 8 | Set-Content (Join-Path $Out 'cmdlet_bench.json') }
function Around([scriptblock] $Call) {
    $gc2 = [GC]::CollectionCount(2); $pause = [GC]::GetTotalPauseDuration()
    $sw = [Diagnostics.Stopwatch]::StartNew(); $r = & $Call; $sw.Stop()
    # Where a slow call's time went: each unit's exec and copy time, and any full GC inside it.
    [pscustomobject]@{ AroundMs = $sw.Elapsed.TotalMilliseconds; WallMs = $r.WallMs; SetupMs = $r.SetupMs; PredictedMs = $r.PredictedMs
        UnitExecIoMs = ($r.Units | ForEach-Object { '{0}:{1:n2}/{2:n2}' -f $_.Unit, $_.ExecMs, $_.IoMs }) -join ' '
        Gen2 = [GC]::CollectionCount(2) - $gc2; GcPauseMs = ([GC]::GetTotalPauseDuration() - $pause).TotalMilliseconds
        Shares = ($r.Units | ForEach-Object { '{0}:{1}[{2}]' -f $_.Unit, $_.Items, ($_.ExecutedBatchSizes -join '+') }) -join ' ' }
}
function Median([double[]] $v) { $s = $v | Sort-Object; if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
function Section([string] $Name, [scriptblock] $Body) {
    if ($Sections -notcontains $Name) { return }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    try { & $Body } catch { $R["error_$Name"] = "$_ $($_.ScriptStackTrace)"; Write-Host "SECTION $Name FAILED: $_" }
    $R["seconds_$Name"] = $sw.Elapsed.TotalSeconds; Save
    Write-Host ("== {0} done in {1:n1} s" -f $Name, $sw.Elapsed.TotalSeconds)
}
$onnx = @{}; foreach ($m in $Models) { $onnx[$m] = Join-Path $ModelDir "$m.onnx" }
# Goal 5 needs a second GPU (nvidia-h200-x2): profiled and planned beside the first wherever one is available.
$OtherGpus = @(Get-ComputeUnit | Where-Object { $_.Kind -eq 'Cuda' -and $_.Available -and $_.Id -ne $Gpu } | Select-Object -First 1 -ExpandProperty Id)
$R.otherGpus = $OtherGpus

Section profile {
    $R.profile = [ordered]@{}
    foreach ($m in $Models) {
        foreach ($p in 'Single', 'Half') {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $rows = Measure-BatchProfile -Model $onnx[$m] -Unit $Gpu -BatchSize $GpuSizes -Precision $p -ThreadCount $Threads -Save
            $R.profile["$m-$p-$Gpu"] = [ordered]@{ seconds = $sw.Elapsed.TotalSeconds
                rows = @($rows | Select-Object BatchSize, ExecMs, IoMs, HostToDeviceMs, DeviceToHostMs, SpreadMs, Status) }
        }
    }
    foreach ($other in $OtherGpus) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $rows = Measure-BatchProfile -Model $onnx['resnet50'] -Unit $other -BatchSize $GpuSizes -ThreadCount $Threads -Save
        $R.profile["resnet50-Single-$other"] = [ordered]@{ seconds = $sw.Elapsed.TotalSeconds
            rows = @($rows | Select-Object BatchSize, ExecMs, IoMs, HostToDeviceMs, DeviceToHostMs, SpreadMs, Status) }
    }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $rows = Measure-BatchProfile -Model $onnx['resnet50'] -Unit cpu -BatchSize $CpuSizes -ThreadCount $Threads -Save
    $R.profile['resnet50-Single-cpu'] = [ordered]@{ seconds = $sw.Elapsed.TotalSeconds; rows = @($rows | Select-Object BatchSize, ExecMs, IoMs, SpreadMs, Status) }
}

Section b128 {
    $R.b128 = [ordered]@{}
    foreach ($m in $Models) {
        foreach ($p in 'Single', 'Half') {
            $batch = New-HeteroBatch -Model $onnx[$m] -BatchSize 128
            $call = { Invoke-HeteroInference -Model $onnx[$m] -Batch $batch -Unit $Gpu -Precision $p -ThreadCount $Threads -NoAutoProfile -PassThru }
            $first = Around $call
            $runs = 1..$Repeats | ForEach-Object { Around $call }
            $R.b128["$m-$p"] = [ordered]@{ first = $first
                aroundMedianMs = Median $runs.AroundMs; wallMedianMs = Median $runs.WallMs; predictedMs = $runs[0].PredictedMs
                setupAfterFirstMaxMs = ($runs.SetupMs | Measure-Object -Maximum).Maximum; shares = $runs[0].Shares
                aroundAllMs = @($runs.AroundMs) }
            Write-Host ("{0} {1} b128: around {2:n2} ms, wall {3:n2}, predicted {4:n2}" -f $m, $p, $R.b128["$m-$p"].aroundMedianMs, $R.b128["$m-$p"].wallMedianMs, $first.PredictedMs)
        }
    }
    # Goal 1's time outside the run, split: the same call through the engine's entry point directly (no cmdlet, no
    # PowerShell binding or output) against the cmdlet, each as AroundMs - WallMs - SetupMs.
    $m = $Models[0]
    $batch = New-HeteroBatch -Model $onnx[$m] -BatchSize 128
    $options = [HeteroBatch.Engine.Execution.RunOptions]@{ Model = $onnx[$m]; Units = [string[]]@($Gpu); NoAutoProfile = $true
        BackendOptions = [HeteroBatch.Engine.Table.BackendOptions]@{ IntraOpThreads = $Threads } }
    $request = [HeteroBatch.Engine.Execution.InferenceRequest]::new($options, [HeteroBatch.Engine.Inputs.InputSource]::FromBatch($batch), $null)
    $calls = [ordered]@{
        engine = { [HeteroBatch.Engine.Execution.InferencePipeline]::Run($request, [IProgress[HeteroBatch.Engine.Execution.ExecutionProgress]]$null, [Threading.CancellationToken]::None) }
        cmdlet = { Invoke-HeteroInference -Model $onnx[$m] -Batch $batch -Unit $Gpu -ThreadCount $Threads -NoAutoProfile -PassThru }
    }
    $outside = [ordered]@{}
    foreach ($kind in $calls.Keys) {
        $call = $calls[$kind]
        $null = Around $call
        $runs = 1..$Repeats | ForEach-Object { Around $call }
        $outside[$kind] = [ordered]@{ outsideMedianMs = Median @($runs | ForEach-Object { $_.AroundMs - $_.WallMs - $_.SetupMs })
            aroundMedianMs = Median $runs.AroundMs; wallMedianMs = Median $runs.WallMs }
    }
    $R.b128Outside = $outside
    Write-Host ("{0} b128 outside the run: engine {1:n2} ms, cmdlet {2:n2} ms" -f $m, $outside.engine.outsideMedianMs, $outside.cmdlet.outsideMedianMs)
}

Section npy {
    $R.npy = [ordered]@{}
    $in = Join-Path $ModelDir 'in128.npy'
    foreach ($m in $Models) {
        $outFile = Join-Path $work "hb_out_$m.npy"
        $call = { Invoke-HeteroInference -Model $onnx[$m] -InputPath $in -OutputPath $outFile -Unit $Gpu -ThreadCount $Threads -NoAutoProfile -Confirm:$false }
        $first = Around $call
        $runs = 1..10 | ForEach-Object { Around $call }
        $R.npy[$m] = [ordered]@{ first = $first; aroundMedianMs = Median $runs.AroundMs; wallMedianMs = Median $runs.WallMs; output = $outFile }
        Write-Host ("{0} npy->npy: around {1:n2} ms" -f $m, $R.npy[$m].aroundMedianMs)
    }
}

# A new pwsh per variant, so "after the first call of the process" means exactly that.
Section sequence {
    $R.sequence = [ordered]@{}
    $child = Join-Path $work 'sequence.ps1'
    Set-Content $child @'
param($Model, $Threads, $Gpu, [switch] $WarmUp)
Import-Module $env:HB_MODULE
$sizes = 37, 100, 128, 99, 256, 1000
$batches = @{}; foreach ($n in $sizes) { $batches[$n] = New-HeteroBatch -Model $Model -BatchSize $n }
$sw = [Diagnostics.Stopwatch]::StartNew()
$first = Invoke-HeteroInference -Model $Model -Batch $batches[128] -Unit $Gpu -ThreadCount $Threads -NoAutoProfile -WarmUp:$WarmUp
$firstMs = $sw.Elapsed.TotalMilliseconds
$rounds = foreach ($round in 1..4) { foreach ($n in $sizes) {
    # What the JIT compiled (all threads) and any full GC during the call: the candidates for a first call's extra.
    $jit = [Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds; $methods = [Runtime.JitInfo]::GetCompiledMethodCount($false)
    $gen2 = [GC]::CollectionCount(2); $pause = [GC]::GetTotalPauseDuration().TotalMilliseconds
    $sw.Restart(); $r = Invoke-HeteroInference -Model $Model -Batch $batches[$n] -Unit $Gpu -ThreadCount $Threads -NoAutoProfile
    $around = $sw.Elapsed.TotalMilliseconds
    [pscustomobject]@{ Round = $round; N = $n; AroundMs = $around; WallMs = $r.WallMs; SetupMs = $r.SetupMs; PredictedMs = $r.PredictedMs
        Sizes = ($r.Units.ExecutedBatchSizes -join '+'); JitMethods = [Runtime.JitInfo]::GetCompiledMethodCount($false) - $methods
        JitMs = [Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds - $jit; Gen2 = [GC]::CollectionCount(2) - $gen2
        GcPauseMs = [GC]::GetTotalPauseDuration().TotalMilliseconds - $pause } } }
[pscustomobject]@{ FirstAroundMs = $firstMs; FirstSetupMs = $first.SetupMs; FirstWallMs = $first.WallMs; Rounds = @($rounds) } | ConvertTo-Json -Depth 4 -Compress
'@
    foreach ($m in $Models) {
        foreach ($warm in $true, $false) {
            $json = & $runPwsh -File $child -Model $onnx[$m] -Threads $Threads -Gpu $Gpu -WarmUp:$warm
            $R.sequence["$m-warmup_$warm"] = $json | Select-Object -Last 1 | ConvertFrom-Json
        }
    }
}

Section predict {
    $R.predict = [ordered]@{}
    $configs = @(@('cpu'), @($Gpu), @($Gpu, 'cpu'))
    if ($OtherGpus) { $configs += , (@($Gpu) + $OtherGpus); $configs += , (@($Gpu) + $OtherGpus + 'cpu') }
    foreach ($units in $configs) {
        foreach ($n in 37, 100, 128, 256, 1000) {
            if ($units.Count -eq 1 -and $units[0] -eq 'cpu' -and $n -gt 256) { continue }
            $batch = New-HeteroBatch -Model $onnx['resnet50'] -BatchSize $n
            $call = { Invoke-HeteroInference -Model $onnx['resnet50'] -Batch $batch -Unit $units -ThreadCount $Threads -NoAutoProfile }
            $first = Around $call
            $runs = 1..5 | ForEach-Object { Around $call }
            $key = ($units -join '+') + "-$n"
            $R.predict[$key] = [ordered]@{ first = $first; wallMedianMs = Median $runs.WallMs; aroundMedianMs = Median $runs.AroundMs
                predictedMs = $runs[0].PredictedMs; shares = $runs[0].Shares; wallAllMs = @($runs.WallMs) }
            Write-Host ("{0}: wall {1:n2} predicted {2:n2} ({3})" -f $key, $R.predict[$key].wallMedianMs, $runs[0].PredictedMs, $runs[0].Shares)
        }
    }
    $R.tableRows = @(Get-PerfTable -Model $onnx['resnet50'] | Select-Object Unit, BackendOptions, BatchSize, ExecMs, IoMs, Status)
}

Section cold {
    $R.cold = @()
    foreach ($i in 1..3) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $json = & $runPwsh -Command "Import-Module `$env:HB_MODULE; Invoke-HeteroInference -Model '$($onnx['resnet50'])' -BatchSize 128 -Unit $Gpu -ThreadCount $Threads -NoAutoProfile | Select-Object WallMs, SetupMs, PredictedMs | ConvertTo-Json -Compress"
        $R.cold += [pscustomobject]@{ TotalMs = $sw.Elapsed.TotalMilliseconds; Result = ($json | Select-Object -Last 1) }
        Write-Host ("cold pwsh total {0:n0} ms: {1}" -f $sw.Elapsed.TotalMilliseconds, ($json | Select-Object -Last 1))
    }
}
Save
