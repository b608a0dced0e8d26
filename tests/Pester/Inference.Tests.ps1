BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $table = New-TestTablePath
    $scratch = Split-Path $table
    function Read-NpyFloats([string] $path) {
        # Header: magic(6) version(2) header-length(2, v1) header; then little-endian float32 data.
        $bytes = [IO.File]::ReadAllBytes($path)
        $headerLength = [BitConverter]::ToUInt16($bytes, 8)
        $start = 10 + $headerLength
        $count = ($bytes.Length - $start) / 4
        $values = [float[]]::new($count)
        [Buffer]::BlockCopy($bytes, $start, $values, 0, $bytes.Length - $start)
        , $values
    }
}

Describe 'Invoke-HeteroInference' {
    It 'profiles what the table lacks, plans and runs a synthetic batch on the CPU' {
        $r = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 20 -Path $table
        $r.BatchSize | Should -Be 20
        $r.WallMs | Should -BeGreaterThan 0
        $r.Units.Count | Should -Be 1
        $r.Units[0].Items | Should -Be 20
        $r.Units[0].ItemsCompleted | Should -Be 20
        $r.OutputShape | Should -Be @(20, 10)
        @(Get-PerfTable -Path $table -Model tinynet -Unit cpu).Count | Should -BeGreaterThan 0
    }

    It 'gives the same outputs split over two CPU slices as whole on one unit, in order' {
        $whole = Join-Path $scratch 'whole.npy'
        $split = Join-Path $scratch 'split.npy'
        $null = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 37 -Seed 7 -Path $table -OutputPath $whole
        $r = Invoke-HeteroInference -Model tinynet -CpuSlices 2 -BatchSize 37 -Seed 7 -Path $table -OutputPath $split -Algorithm Even
        @($r.Units | Where-Object Items -gt 0).Count | Should -Be 2
        $a = Read-NpyFloats $whole
        $b = Read-NpyFloats $split
        $a.Length | Should -Be (37 * 10)
        for ($i = 0; $i -lt $a.Length; $i++) {
            [math]::Abs($a[$i] - $b[$i]) | Should -BeLessOrEqual (1e-5 * [math]::Max(1, [math]::Abs($a[$i])))
        }
    }

    It 'runs a plan piped from Split-Batch, also after a JSON round trip' {
        $plan = Split-Batch -Model tinynet -BatchSize 12 -Unit cpu -Path $table
        $r = $plan | Invoke-HeteroInference -Model tinynet -Path $table
        $r.BatchSize | Should -Be 12
        $json = $plan | ConvertTo-Json -Depth 6
        $r2 = Invoke-HeteroInference -Model tinynet -Plan ($json | ConvertFrom-Json) -Path $table
        $r2.BatchSize | Should -Be 12
        $r3 = Invoke-HeteroInference -Model tinynet -Plan $json -Path $table
        $r3.Units[0].Items | Should -Be 12
    }

    It 'runs a plan saved as JSON and piped as text, without -Model (Get-Content -Raw)' {
        $plan = Split-Batch -Model tinynet -BatchSize 9 -Unit cpu -Path $table
        $file = Join-Path $scratch 'plan-piped.json'
        $plan | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $file
        $r = Get-Content -LiteralPath $file -Raw | Invoke-HeteroInference -Path $table -ErrorAction Stop
        $r.Model | Should -Be 'tinynet'
        $r.BatchSize | Should -Be 9
        $r.Units[0].ItemsCompleted | Should -Be 9
        $r = Invoke-HeteroInference -Plan (Get-Content -LiteralPath $file -Raw) -Path $table -ErrorAction Stop
        $r.BatchSize | Should -Be 9
    }

    It 'says to use ConvertTo-Json -Depth 6 for a plan cut short at the default depth, and -Raw for a file piped line by line' {
        $plan = Split-Batch -Model tinynet -BatchSize 9 -Unit cpu -Path $table
        $shallow = $plan | ConvertTo-Json -WarningAction SilentlyContinue
        $shallow | Should -Match '"ExecutedBatchSizes": "\d'
        foreach ($attempt in @(
            { $shallow | Invoke-HeteroInference -Path $table -ErrorAction Stop },
            { Invoke-HeteroInference -Model tinynet -Plan $shallow -Path $table -ErrorAction Stop },
            { Invoke-HeteroInference -Model tinynet -Plan ($shallow | ConvertFrom-Json) -Path $table -ErrorAction Stop })) {
            $err = $attempt | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError*'
            $err.Exception.Message | Should -Match 'cut short'
            $err.Exception.Message | Should -Match 'Shares\[0\]\.ExecutedBatchSizes'
            $err.Exception.Message | Should -Match 'ConvertTo-Json -Depth 6'
        }
        $file = Join-Path $scratch 'plan-lines.json'
        $plan | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $file
        $err = { Get-Content -LiteralPath $file | Invoke-HeteroInference -Path $table -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -Match 'Get-Content -Raw'
    }

    It 'stops with ModelMissing when neither -Model nor -Plan is given' {
        $err = { Invoke-HeteroInference -BatchSize 4 -Path $table -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ModelMissing*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match '-Model'
        $err.Exception.Message | Should -Match 'Get-HeteroModel'
    }

    It 'returns the outputs with -PassThru and the best classes with -Top' {
        $r = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 4 -Path $table -PassThru -Top 3
        $r.Output.Shape | Should -Be @(4, 10)
        @($r.TopK).Count | Should -Be 12
        # ForEach-Object, not member access: an array has a Rank property of its own.
        @($r.TopK | Where-Object Item -eq 0 | ForEach-Object Rank) | Should -Be @(1, 2, 3)
    }

    It 'accepts a float array from the pipeline' {
        $data = [float[]]::new(2 * 3 * 32 * 32)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = ($i % 17) / 17.0 }
        $r = , $data | Invoke-HeteroInference -Model tinynet -Unit cpu -InputShape 2, 3, 32, 32 -Path $table
        $r.BatchSize | Should -Be 2
    }

    It 'reads a folder of images' {
        Add-Type -Path (Join-Path (Get-TestModulePath) 'SixLabors.ImageSharp.dll')
        $dir = Join-Path $scratch 'images'
        $null = New-Item -ItemType Directory -Path $dir
        foreach ($n in 1..3) {
            $img = [SixLabors.ImageSharp.Image[SixLabors.ImageSharp.PixelFormats.Rgb24]]::new(40 + $n, 36)
            [SixLabors.ImageSharp.ImageExtensions]::SaveAsPng($img, (Join-Path $dir "img$n.png"))
            $img.Dispose()
        }
        $r = Invoke-HeteroInference -Model tinynet -Unit cpu -InputPath $dir -Path $table
        $r.BatchSize | Should -Be 3
    }

    It 'folds measured times into the table with -UpdatePerfTable' {
        $t = New-TestTablePath
        $null = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 8 -Path $t
        $before = @(Get-PerfTable -Path $t -Model tinynet | Where-Object { @($_.History).Count -gt 0 }).Count
        $null = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 8 -Path $t -UpdatePerfTable
        $after = @(Get-PerfTable -Path $t -Model tinynet | Where-Object { @($_.History).Count -gt 0 }).Count
        $after | Should -BeGreaterThan $before
    }

    It 'rejects bad input with stable ErrorIds and leaves no output file' -ForEach @(
        @{ Case = 'empty folder'; Id = 'EmptyInput'; Make = { $d = Join-Path $scratch ('empty' + [guid]::NewGuid().ToString('N')); $null = New-Item -ItemType Directory $d; @{ InputPath = $d } } }
        @{ Case = 'unreadable image'; Id = 'ImageDecodeFailed'; Make = { $d = Join-Path $scratch ('bad' + [guid]::NewGuid().ToString('N')); $null = New-Item -ItemType Directory $d; Set-Content (Join-Path $d 'x.png') 'not a png'; @{ InputPath = $d } } }
        @{ Case = 'wrong input shape'; Id = 'InvalidInputShape'; Make = { @{ InputObject = [float[]]::new(2 * 3 * 8 * 8); InputShape = 2, 3, 8, 8 } } }
        @{ Case = 'model not found'; Id = 'ModelNotFound'; Make = { @{ Model = 'no-such-model'; BatchSize = 2 } } }
        @{ Case = 'unit not available'; Id = 'UnitNotFound'; Make = { @{ Unit = 'gpu9'; BatchSize = 2 } } }
        @{ Case = 'no profile and -NoAutoProfile'; Id = 'MissingProfile'; Make = { @{ BatchSize = 2; NoAutoProfile = $true; Path = (New-TestTablePath) } } }
    ) {
        $out = Join-Path $scratch ("out-" + [guid]::NewGuid().ToString('N') + '.npy')
        $params = @{ Model = 'tinynet'; Unit = 'cpu'; Path = $table; OutputPath = $out; ErrorAction = 'Stop' }
        $extra = & $Make
        foreach ($k in $extra.Keys) { $params[$k] = $extra[$k] }
        $err = { Invoke-HeteroInference @params } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike "$Id*"
        $err.Exception.Message | Should -Not -Match '   at '
        Test-Path $out | Should -BeFalse
        @(Get-ChildItem $scratch -Filter 'out-*').Count | Should -Be 0
    }

    It 'runs the fp16 conversion with -Precision Half, within 1e-2 of fp32, as a model of its own in the table' {
        $single = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 4 -Seed 3 -Path $table -PassThru
        $half = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 4 -Seed 3 -Path $table -PassThru -Precision Half
        $half.Model | Should -Be 'tinynet-fp16'
        $a = $single.Output.ToArray(); $b = $half.Output.ToArray()
        $scale = ($a | ForEach-Object { [math]::Abs($_) } | Measure-Object -Maximum).Maximum
        $worst = 0.0
        for ($i = 0; $i -lt $a.Length; $i++) { $worst = [math]::Max($worst, [math]::Abs($a[$i] - $b[$i])) }
        ($worst / $scale) | Should -BeLessThan 1e-2
        @(Get-PerfTable -Path $table -Model tinynet-fp16).Count | Should -BeGreaterThan 0
        (Split-Batch -Model tinynet -BatchSize 10 -Unit cpu -Path $table -Precision Half).Model | Should -Be 'tinynet-fp16'
    }

    It 'runs once over the units piped from Get-ComputeUnit' {
        $r = @(Get-ComputeUnit -Id cpu | Invoke-HeteroInference -Model tinynet -BatchSize 6 -Path $table)
        $r.Count | Should -Be 1
        $r[0].Units.Unit | Should -Be @('cpu')
        $r[0].BatchSize | Should -Be 6
    }

    It 'says with -Verbose what it decided and why: units, profiling, plan and predicted time, setup, table writes' {
        $t = New-TestTablePath
        $out = Join-Path $scratch 'verbose.npy'
        $verbose = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 9 -Path $t -OutputPath $out -UpdatePerfTable -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        $text = $verbose -join "`n"
        $text | Should -Match 'Units of this run: cpu \('
        $text | Should -Match "Profiling cpu for model 'tinynet': the perf table .+ has no rows"
        $text | Should -Match 'Saved \d+ profiled row\(s\) to the perf table'
        $text | Should -Match 'Planned 9 items with Optimal\. cpu: items 0-8 \(9\) in chunks of .+ Predicted time: [\d.]+ ms'
        $text | Should -Match 'Setup before the clock starts'
        $text | Should -Match ([regex]::Escape("to $out"))
        $text | Should -Match 'Folded \d+ measured row\(s\) into the perf table'
        # Without -Verbose nothing of it shows.
        @(Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 9 -Path $t 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -Be 0
    }

    It 'gives back its cached sessions and worker threads when the module is removed' {
        $module = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
        $t = New-TestTablePath
        # A process of its own: removing the module here would unload it for the other tests.
        $answer = & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command "
            Import-Module '$module'
            `$null = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 4 -Path '$t'
            `$before = '{0},{1}' -f [HeteroBatch.Engine.Backends.SessionCache]::Shared.Count, [HeteroBatch.Engine.Execution.EngineResources]::WorkerCount
            Remove-Module HeteroBatch
            `$after = '{0},{1}' -f [HeteroBatch.Engine.Backends.SessionCache]::Shared.Count, [HeteroBatch.Engine.Execution.EngineResources]::WorkerCount
            `"`$before;`$after`"
        "
        $before, $after = "$answer".Trim().Split(';')
        $before.Split(',') | ForEach-Object { [int]$_ | Should -BeGreaterThan 0 }
        $after | Should -Be '0,0'
    }

    It 'changes nothing with -WhatIf: no profile saved, no output written' {
        $t = New-TestTablePath
        $out = Join-Path (Split-Path $t) 'whatif.npy'
        $r = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 2 -Path $t -OutputPath $out -WhatIf
        $r | Should -BeNullOrEmpty
        Test-Path $t | Should -BeFalse
        Test-Path $out | Should -BeFalse
    }

    It 'shows the per-unit rows and the wall time in its default view' {
        $text = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 4 -Path $table | Out-String
        $text | Should -Match 'wall'
        $text | Should -Match 'ActualMs'
    }
}
