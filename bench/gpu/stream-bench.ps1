<#
.SYNOPSIS
    The dataset-stream bench of issue 12 on the GPU machine: Invoke-HeteroDataset over the JPEGs torch_dataloader.py
    generated, ResNet-50 (the ONNX file it exported), against its torch DataLoader number of the same run.
.DESCRIPTION
    After torch_dataloader.py, in a pwsh that imported the staged module:
      /tmp/gpu-unpacked/.gpu-stage/run-pwsh.sh -File .../extra/stream-bench.ps1 -Data DIR -ModelDir DIR -Out DIR
    Profiles the model on the GPU(s) and the CPU first (saved in a table of this run), then streams the whole folder:
      gpu       the GPU(s) only, decode workers picked (every core but one feeder per GPU)
      gpu+cpu   the GPU(s) and the CPU (each batch split by the table; the CPU unit's threads cut by the decode workers)
      gpu pull, gpu+cpu pull   the same units with -Schedule Pull (each unit pulls chunks at its own measured size, no
                barrier per batch; see bench/results/stream-schedule-2026-12-01.md); 'setup_s' is its warm-up before the clock
      decode    the decode-bound limit: the CPU decoding alone (Skia), items/s with every core
    Each summary (items/s, unit shares, core split, decode time, time waiting for decode) goes to OUT/stream_bench.json.
#>
param(
    [Parameter(Mandatory)] [string] $Data,
    [Parameter(Mandatory)] [string] $ModelDir,
    [Parameter(Mandatory)] [string] $Out,
    [int] $BatchSize = 256,
    [int] $Count = 20000,
    [string[]] $Gpus = @('gpu0'),
    [int[]] $GpuSizes = @(1, 8, 32, 64, 128, 192, 256),
    [int[]] $CpuSizes = @(1, 2, 4, 8)
)
$ErrorActionPreference = 'Stop'
Import-Module $env:HB_MODULE
$work = '/tmp/hb-stream-bench'
$null = New-Item -ItemType Directory -Force $work, $Out
$env:HETEROBATCH_PERFTABLE = Join-Path $work 'table.json'
$model = Join-Path $ModelDir 'resnet50.onnx'
$files = @(Get-ChildItem $Data -Filter *.jpg | Sort-Object Name | Select-Object -First $Count)
$list = Join-Path $work 'files'
$R = [ordered]@{
    date = (Get-Date).ToUniversalTime().ToString('o'); module = (Get-Module HeteroBatch).Version.ToString()
    cores = [Environment]::ProcessorCount; images = $files.Count; batch = $BatchSize
    units = @(Get-ComputeUnit | Select-Object Id, Name, Available, LogicalCores)
    torch = $(if (Test-Path (Join-Path $Out 'torch_dataloader.json')) { Get-Content (Join-Path $Out 'torch_dataloader.json') -Raw | ConvertFrom-Json } else { $null })
    runs = [ordered]@{}
}

# Profiles: the GPU at its bucket sizes; the CPU with the thread budget the stream will give it (all cores but the
# GPU feeders and the decode workers; with GPUs the decode workers take every core but the feeders, so 1 thread).
foreach ($g in $Gpus) { Measure-BatchProfile -Model $model -Unit $g -BatchSize $GpuSizes -Save | Out-Null }
Measure-BatchProfile -Model $model -Unit cpu -BatchSize $CpuSizes -ThreadCount 1 -Save | Out-Null

function Invoke-Run([string] $Name, [string[]] $Units, [string] $Schedule = 'PerBatch') {
    $npy = Join-Path $work "$Name.npy"
    Remove-Item $npy -ErrorAction Ignore
    $clock = [Diagnostics.Stopwatch]::StartNew()
    try {
        $s = $files | Invoke-HeteroDataset -Model $model -Unit $Units -Schedule $Schedule -BatchSize $BatchSize -OutputPath $npy -NoAutoProfile -Verbose 4> (Join-Path $Out "$Name.verbose.txt")
    } catch {
        # A failed run is recorded with the rows the stream looked for, and the bench goes on.
        $R.runs[$Name] = [ordered]@{ units = $Units; schedule = $Schedule; error = "$_"; error_id = $_.FullyQualifiedErrorId
            rows = @(Get-PerfTable -Model $model | Select-Object Unit, MachineName, BatchSize, Status, BackendOptions, Precision) }
        Write-Host "$Name FAILED: $_"
        $R | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Out 'stream_bench.json')
        return
    }
    $wall = $clock.Elapsed.TotalSeconds
    $R.runs[$Name] = [ordered]@{
        units = $Units; schedule = $s.Schedule; setup_s = $s.SetupSeconds; items = $s.Items; wall_s_cmdlet = $wall; items_per_s = $s.ItemsPerSecond; unit_shares = $s.UnitShares
        core_split = $s.CoreSplit; decode_workers = $s.DecodeWorkers; cpu_threads = $s.CpuInferenceThreads
        decode_s = $s.DecodeSeconds; decode_per_worker = $s.DecodeItemsPerSecondPerWorker; wait_for_decode_s = $s.WaitForDecodeSeconds
        inference_s = $s.InferenceSeconds; peak_buffers = $s.PeakBuffersInUse; bad = $s.BadItems
        per_unit = @($s.Units | Select-Object Unit, Items, Share, BusySeconds, ItemsPerSecond, Threads, ChunkSize, Chunks)
        vs_torch = $(if ($R.torch) { $s.ItemsPerSecond / $R.torch.images_per_s } else { $null })
    }
    Write-Host ("{0,-12} {1,8:N1} images/s  {2}  [{3}]" -f $Name, $s.ItemsPerSecond, $s.UnitShares, $s.CoreSplit)
    $R | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Out 'stream_bench.json')
}

Invoke-Run 'gpu' $Gpus
Invoke-Run 'gpu+cpu' (@($Gpus) + 'cpu')
Invoke-Run 'gpu pull' $Gpus 'Pull'
Invoke-Run 'gpu+cpu pull' (@($Gpus) + 'cpu') 'Pull'

# The decode-bound limit: every core decoding (Skia), nothing else (the engine's decoder on 2,000 of the files).
$sample = @($files | Select-Object -First 2000).FullName
$cores = [Environment]::ProcessorCount
$chunks = @(for ($c = 0; $c -lt $cores; $c++) { , @(for ($i = $c; $i -lt $sample.Count; $i += $cores) { $sample[$i] }) })
$clock = [Diagnostics.Stopwatch]::StartNew()
$chunks | ForEach-Object -ThrottleLimit $cores -Parallel {
    $b = [float[]]::new(3 * 224 * 224)
    foreach ($f in $_) { [HeteroBatch.Engine.Streaming.SkiaImageDecoder]::Preprocess($f, 224, 224, $b) }
}
$R.decode_bound_images_per_s = $sample.Count / $clock.Elapsed.TotalSeconds
Write-Host ("decode-bound: {0:N1} images/s on {1} cores" -f $R.decode_bound_images_per_s, [Environment]::ProcessorCount)

$R | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Out 'stream_bench.json')
