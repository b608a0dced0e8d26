# Export-PerfChart against the staged module: pictures of a performance table, a plan and a run, from the
# pipeline (typed and deserialised objects) and from files, and the errors bad input gets.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $table = New-TestTablePath
    $scratch = Split-Path $table
    # A made-up CPU/IGPU/GPU machine shaped like the paper's (not its measurements), as a table exported
    # elsewhere: units CPU, IGPU, GPU of host 'paper-i7'.
    $csvPath = Join-Path $scratch 'paper.csv'
    $gpu = @{ 1 = 3.1; 2 = 3.3; 4 = 3.8; 8 = 5.0; 16 = 7.5; 17 = 11.9; 32 = 12.0; 33 = 19.5; 64 = 22.8; 65 = 33.0; 128 = 44.0 }
    $rows = foreach ($b in $gpu.Keys) {
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'GPU'; BatchSize = $b; ExecMs = $gpu[$b]; IoMs = 0.1 * $b }
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'CPU'; BatchSize = $b; ExecMs = 9.0 * $b + 2; IoMs = 0 }
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'IGPU'; BatchSize = $b; ExecMs = 5.0 * $b + 4; IoMs = 0.2 * $b }
    }
    $rows | Export-Csv $csvPath
    Import-Csv $csvPath | Set-PerfTable -Path $table
    $plan = Split-Batch -Model resnet-50 -BatchSize 100 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $table

    function Read-Svg([string] $path) {
        $settings = [Xml.XmlReaderSettings]::new()
        $settings.DtdProcessing = 'Prohibit'
        $reader = [Xml.XmlReader]::Create($path, $settings)
        try { $doc = [Xml.XmlDocument]::new(); $doc.Load($reader); $doc } finally { $reader.Dispose() }
    }
    function Get-SvgText([string] $path) { @((Read-Svg $path).GetElementsByTagName('text') | ForEach-Object InnerText) }
    function Get-PngSize([string] $path) {
        $b = [IO.File]::ReadAllBytes($path)
        [Text.Encoding]::ASCII.GetString($b, 1, 3) | Should -Be 'PNG'
        [Text.Encoding]::ASCII.GetString($b, 12, 4) | Should -Be 'IHDR'
        # IHDR width and height: big-endian 32-bit integers at bytes 16 and 20.
        $be = { param($at) ([int]$b[$at] -shl 24) -bor ([int]$b[$at + 1] -shl 16) -bor ([int]$b[$at + 2] -shl 8) -bor [int]$b[$at + 3] }
        @((& $be 16), (& $be 20))
    }
    function New-OutPath([string] $name) { Join-Path $scratch ([guid]::NewGuid().ToString('N') + '-' + $name) }
}

Describe 'Export-PerfChart' {
    Context 'performance tables' {
        It 'draws Get-PerfTable rows: one line per unit, axis titles, and returns the file' {
            $out = New-OutPath 'perf.svg'
            $file = Get-PerfTable -Path $table -Model resnet-50 | Export-PerfChart -Path $out
            $file | Should -BeOfType [IO.FileInfo]
            $file.FullName | Should -Be $out
            $file.PSPath | Should -Not -BeNullOrEmpty
            $text = Get-SvgText $out
            foreach ($unit in 'CPU', 'GPU', 'IGPU') { $text | Should -Contain $unit }
            $text | Should -Contain 'Time per item (ms)'
            $text | Should -Contain 'Batch size (items, log scale)'
            $text | Should -Contain 'Performance table: resnet-50'
        }

        It 'draws a PNG of the requested size with -Metric ItemsPerSecond' {
            $out = New-OutPath 'perf.png'
            $null = Get-PerfTable -Path $table | Export-PerfChart -Path $out -Metric ItemsPerSecond -Width 800 -Height 450 -Title 'Throughput'
            Get-PngSize $out | Should -Be @(800, 450)
        }

        It 'draws rows straight from Import-Csv (text values)' {
            $out = New-OutPath 'csv-objects.svg'
            $null = Import-Csv $csvPath | Export-PerfChart $out
            Get-SvgText $out | Should -Contain 'IGPU'
        }

        It 'reads -InputPath: the table JSON, Get-PerfTable | ConvertTo-Json, and a CSV from Get-PerfTable | Export-Csv' {
            $exported = Join-Path $scratch 'exported.csv'
            Get-PerfTable -Path $table | Export-Csv $exported
            $json = Join-Path $scratch 'rows.json'
            Get-PerfTable -Path $table | ConvertTo-Json -Depth 4 | Set-Content $json
            foreach ($source in $table, $json, $exported) {
                $out = New-OutPath 'from-file.svg'
                $file = Export-PerfChart -InputPath $source -Path $out
                $file.Length | Should -BeGreaterThan 1000
                $text = Get-SvgText $out
                foreach ($unit in 'CPU', 'GPU', 'IGPU') { $text | Should -Contain $unit }
            }
        }

        It 'picks one model with -Model and refuses a mix of models without it' {
            $two = @(Get-PerfTable -Path $table) + @($rows | ForEach-Object { $c = $_.psobject.Copy(); $c.Model = 'vgg-16'; $c })
            $err = { $two | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'AmbiguousChartModel*'
            $err.Exception.Message | Should -Match 'vgg-16'
            $out = New-OutPath 'vgg.svg'
            $null = $two | Export-PerfChart -Path $out -Model vgg-16
            Get-SvgText $out | Should -Contain 'Performance table: vgg-16'
        }
    }

    Context 'plans and runs' {
        It 'draws a Split-Batch plan: a bar per unit, the makespan and the best single unit' {
            $out = New-OutPath 'plan.svg'
            $null = $plan | Export-PerfChart -Path $out
            $text = Get-SvgText $out
            $text | Should -Contain 'Plan: resnet-50, batch of 100'
            $text | Should -Contain "$($plan.BestSingleUnit) alone"
            ($text -match '^Predicted makespan ') | Should -Not -BeNullOrEmpty
            foreach ($s in $plan.Shares) { $text | Should -Contain $s.Unit; $text | Should -Contain "$($s.Items) items" }
        }

        It 'draws a plan deserialised from JSON, from the pipeline and from -InputPath' {
            $out = New-OutPath 'plan-bag.png'
            $null = $plan | ConvertTo-Json -Depth 6 | ConvertFrom-Json | Export-PerfChart -Path $out
            Get-PngSize $out | Should -Be @(960, 560)
            $json = Join-Path $scratch 'plan.json'
            $plan | ConvertTo-Json -Depth 6 | Set-Content $json
            $out2 = New-OutPath 'plan-file.svg'
            $null = Export-PerfChart -InputPath $json -Path $out2
            Get-SvgText $out2 | Should -Contain 'Plan: resnet-50, batch of 100'
        }

        It 'draws an Invoke-HeteroInference result, typed and deserialised' {
            $result = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 12 -Path $table
            $out = New-OutPath 'run.svg'
            $null = $result | Export-PerfChart -Path $out
            $text = Get-SvgText $out
            $text | Should -Contain 'Run: tinynet, batch of 12'
            $text | Should -Contain 'Actual time'
            ($text -match '^Wall time ') | Should -Not -BeNullOrEmpty
            $out2 = New-OutPath 'run-bag.png'
            $null = $result | ConvertTo-Json -Depth 6 | ConvertFrom-Json | Export-PerfChart -Path $out2 -Width 640 -Height 400
            Get-PngSize $out2 | Should -Be @(640, 400)
        }

        It 'writes nothing with -WhatIf' {
            $out = New-OutPath 'whatif.svg'
            $result = $plan | Export-PerfChart -Path $out -WhatIf
            $result | Should -BeNullOrEmpty
            $out | Should -Not -Exist
        }
    }

    Context 'bad input' {
        It 'refuses <Case> with ErrorId <Id>' -ForEach @(
            @{ Case = 'empty input'; Id = 'NoChartInput'; Script = { @() | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
            @{ Case = 'an unknown format'; Id = 'UnknownChartFormat'; Script = { $plan | Export-PerfChart -Path (New-OutPath 'x.gif') -ErrorAction Stop } }
            @{ Case = 'an unwritable path'; Id = 'ChartWriteFailed'; Script = { $plan | Export-PerfChart -Path (Join-Path $scratch 'no/such/folder/x.svg') -ErrorAction Stop } }
            @{ Case = 'a missing input file'; Id = 'ChartInputNotFound'; Script = { Export-PerfChart -InputPath (Join-Path $scratch 'none.json') -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
            @{ Case = 'rows and a plan together'; Id = 'MixedChartInput'; Script = { @(Get-PerfTable -Path $table)[0], $plan | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
            @{ Case = 'two plans'; Id = 'TooManyChartInputs'; Script = { $plan, $plan | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
            @{ Case = 'a matrix view'; Id = 'UnrecognizedChartInput'; Script = { Get-PerfTable -Path $table -AsMatrix | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
            @{ Case = 'something else'; Id = 'UnrecognizedChartInput'; Script = { Get-Date | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
            @{ Case = 'a plan flattened by ConvertTo-Json'; Id = 'ChartInputCorrupt'; Script = { $plan | ConvertTo-Json -Depth 1 -WarningAction SilentlyContinue | ConvertFrom-Json | Export-PerfChart -Path (New-OutPath 'x.svg') -ErrorAction Stop } }
        ) {
            $before = @(Get-ChildItem $scratch -Recurse -Force | Where-Object Name -like '*-x.*').Count
            $err = { & $Script } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike "$Id,*"
            $err.Exception.Message | Should -Not -Match '   at '
            @(Get-ChildItem $scratch -Recurse -Force | Where-Object Name -like '*-x.*').Count | Should -Be $before
        }
    }

    Context 'staging' {
        It 'stages SkiaSharp''s native library beside its assembly' {
            $module = Get-TestModulePath
            Join-Path $module 'SkiaSharp.dll' | Should -Exist
            $native = if ($IsWindows) { 'libSkiaSharp.dll' } else { 'libSkiaSharp.so' }
            Join-Path $module $native | Should -Exist
        }

        It 'draws a PNG in a fresh pwsh started in another folder (no assembly or native library conflict)' {
            $dir = New-TestFolder -Prefix 'hb-chart-cwd-'
            $manifest = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
            $cmd = "`$ErrorActionPreference = 'Stop'; Import-Module '$manifest'; " +
                   "(Import-Csv '$csvPath' | Export-PerfChart -Path ./t.png).Length; " +
                   "[AppDomain]::CurrentDomain.GetAssemblies().GetName().Name | Where-Object { `$_ -like '*Skia*' -or `$_ -like 'OxyPlot*' } | Sort-Object"
            $result = Invoke-TestPwsh -Command $cmd -WorkingDirectory $dir
            $result.ExitCode | Should -Be 0 -Because $result.Error
            Join-Path $dir 't.png' | Should -Exist
            $result.Output | Should -Match 'SkiaSharp'
            $result.Output | Should -Match 'OxyPlot.SkiaSharp'
        }
    }
}
