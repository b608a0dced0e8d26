BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $manifest = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
    Import-Module $manifest -Force
    function Get-KeyText($rows) {
        $rows | ForEach-Object { '{0}|{1}|{2}|{3}|{4:R}|{5:R}' -f $_.MachineName, $_.Unit, $_.Model, $_.BatchSize, [double]$_.ExecMs, [double]$_.IoMs } | Sort-Object
    }
}

Describe 'Measure-BatchProfile' {
    BeforeAll {
        $table = New-TestTablePath
        $profile = @(Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1, 2, 4, 8, 16 -Repeat 3 -Warmup 1 -NoRefine)
    }

    It 'emits one record per batch size with the documented properties' {
        $profile.Count | Should -Be 5
        $profile.BatchSize | Should -Be @(1, 2, 4, 8, 16)
        foreach ($p in 'Model', 'ModelHash', 'Unit', 'DeviceName', 'Backend', 'MachineName', 'BatchSize', 'ExecMs', 'IoMs',
            'TotalMs', 'MsPerItem', 'ItemsPerSecond', 'Repeats', 'SpreadMs', 'Timestamp', 'BackendOptions', 'Status') {
            $profile[0].PSObject.Properties.Name | Should -Contain $p
        }
        $profile | ForEach-Object { $_.Repeats | Should -Be 3; $_.IoMs | Should -BeGreaterOrEqual 0; $_.Status | Should -Be 'Ok' }
    }

    It 'gives totals that grow with the batch within noise' {
        # One step may drop (a sub-millisecond median on a shared 2-core machine can catch a descheduled repeat);
        # more than one drop of over 40 % would mean the sizes were not what was measured.
        $drops = @(for ($i = 1; $i -lt $profile.Count; $i++) {
                if ($profile[$i].TotalMs -lt $profile[$i - 1].TotalMs * 0.6 - 0.5) { $profile[$i].BatchSize }
            })
        $drops.Count | Should -BeLessOrEqual 1 -Because "totals $($profile.TotalMs -join ', ') ms dropped at batch $($drops -join ', ')"
        $profile[-1].TotalMs | Should -BeGreaterThan $profile[0].TotalMs
    }

    It 'profiles the units piped from Get-ComputeUnit and saves with -Save' {
        $rows = @(Get-ComputeUnit -Id cpu | Measure-BatchProfile -Model tinynet -BatchSize 1, 3 -Repeat 2 -Warmup 1 -NoRefine -Save -Path $table)
        $rows.Count | Should -Be 2
        $saved = @(Get-PerfTable -Path $table -Model tinynet)
        Get-KeyText $saved | Should -Be (Get-KeyText $rows)
    }

    It 'profiles each piped record that brings its own model as a job of its own' {
        $other = Join-Path (Split-Path $table) 'other-net.onnx'
        Copy-Item (Get-HeteroModel tinynet).Path $other
        $rows = @([pscustomobject]@{ Model = 'tinynet' }, [pscustomobject]@{ Model = $other } |
            Measure-BatchProfile -Unit cpu -BatchSize 1, 2 -Repeat 1 -Warmup 0 -NoRefine)
        $rows.Count | Should -Be 4
        @($rows.Model | Select-Object -Unique) | Should -Be @('tinynet', 'other-net')
        $rows.BatchSize | Should -Be @(1, 2, 1, 2)
        # A record whose model does not exist is its own error; the next record is still profiled.
        $more = @([pscustomobject]@{ Model = 'no-such-net' }, [pscustomobject]@{ Model = 'tinynet' } |
            Measure-BatchProfile -Unit cpu -BatchSize 1 -Repeat 1 -Warmup 0 -NoRefine -ErrorVariable recordErrors -ErrorAction SilentlyContinue)
        $more.Count | Should -Be 1
        $more[0].Model | Should -Be 'tinynet'
        $recordErrors[0].FullyQualifiedErrorId | Should -BeLike 'ModelNotFound*'
    }

    It 'writes progress and ends with a Completed record' {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$manifest'; Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1,2 -Repeat 1 -Warmup 0 -NoRefine")
        $null = $ps.Invoke()
        $records = @($ps.Streams.Progress)
        $ps.Dispose()
        $records.Count | Should -BeGreaterThan 1
        ($records | Where-Object StatusDescription -match 'batch') | Should -Not -BeNullOrEmpty
        $records[-1].RecordType | Should -Be 'Completed'
    }

    It 'rejects bad input with stable ErrorIds' -ForEach @(
        @{ Case = 'unknown unit'; Script = { Measure-BatchProfile -Model tinynet -Unit gpu7 -BatchSize 1 -ErrorAction Stop }; Id = 'UnitNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'batch size 0'; Script = { Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 0 -ErrorAction Stop }; Id = 'InvalidBatchSize'; Category = 'InvalidArgument' }
        @{ Case = 'negative batch size'; Script = { Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize -4 -ErrorAction Stop }; Id = 'InvalidBatchSize'; Category = 'InvalidArgument' }
        @{ Case = 'model that does not load'; Script = { $f = Join-Path (New-TestFolder) 'garbage.onnx'; Set-Content $f 'garbage'; Measure-BatchProfile -Model $f -Unit cpu -BatchSize 1 -ErrorAction Stop }; Id = 'ModelInvalid'; Category = 'InvalidData' }
    ) {
        $err = { & $Script } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike "$Id*"
        $err.CategoryInfo.Category | Should -Be $Category
        $err.Exception.Message | Should -Not -Match '   at '
    }
}

Describe 'Get-PerfTable and Set-PerfTable' {
    BeforeAll {
        $rows = @(
            foreach ($u in 'CPU', 'IGPU', 'GPU') {
                foreach ($b in 1, 2, 4, 8) {
                    [pscustomobject]@{ Model = 'demo-net'; Unit = $u; BatchSize = $b; ExecMs = [math]::Round($b * (1 + [array]::IndexOf(@('GPU', 'IGPU', 'CPU'), $u)) + 0.25, 3); IoMs = 0.5; MachineName = 'labhost' }
                }
            })
    }

    It 'merges Import-Csv rows by property name (Model, Unit, BatchSize, ExecMs; IoMs and MachineName optional)' {
        $t = New-TestTablePath
        $csv = Join-Path (Split-Path $t) 'rows.csv'
        $rows | Export-Csv $csv
        Import-Csv $csv | Set-PerfTable -Path $t
        $back = @(Get-PerfTable -Path $t)
        $back.Count | Should -Be 12
        Get-KeyText $back | Should -Be (Get-KeyText $rows)
        $noIo = Join-Path (Split-Path $t) 'noio.csv'
        $rows | Select-Object Model, Unit, BatchSize, ExecMs | Export-Csv $noIo
        $t2 = New-TestTablePath
        Import-Csv $noIo | Set-PerfTable -Path $t2
        @(Get-PerfTable -Path $t2).Count | Should -Be 12
        (Get-PerfTable -Path $t2 -Unit GPU -BatchSize 8).IoMs | Should -Be 0
    }

    It 'round-trips Measure-BatchProfile | Set-PerfTable | Get-PerfTable, Export-Csv and ConvertTo-Json' {
        $t = New-TestTablePath
        $measured = @(Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1, 2, 5 -Repeat 2 -Warmup 0 -NoRefine)
        $measured | Set-PerfTable -Path $t
        $fromTable = @(Get-PerfTable -Path $t)
        Get-KeyText $fromTable | Should -Be (Get-KeyText $measured)

        $csv = Join-Path (Split-Path $t) 'export.csv'
        $fromTable | Export-Csv $csv
        $t2 = New-TestTablePath
        Import-Csv $csv | Set-PerfTable -Path $t2
        Get-KeyText (Get-PerfTable -Path $t2) | Should -Be (Get-KeyText $measured)
        (Get-PerfTable -Path $t2)[0].ModelHash | Should -Be $measured[0].ModelHash

        $t3 = New-TestTablePath
        $fromTable | ConvertTo-Json -Depth 5 | ConvertFrom-Json | Set-PerfTable -Path $t3
        Get-KeyText (Get-PerfTable -Path $t3) | Should -Be (Get-KeyText $measured)
    }

    It 'filters by model, unit, machine and batch size' {
        $t = New-TestTablePath
        $rows | Set-PerfTable -Path $t
        @(Get-PerfTable -Path $t -Unit GPU).Count | Should -Be 4
        @(Get-PerfTable -Path $t -BatchSize 2).Count | Should -Be 3
        @(Get-PerfTable -Path $t -MachineName labhost -Unit CPU -BatchSize 8).Count | Should -Be 1
        @(Get-PerfTable -Path $t -Model nothing-here).Count | Should -Be 0
    }

    It 'selects a model''s rows by its ONNX file, as -Model takes it elsewhere (by content hash, any file name)' {
        $t = New-TestTablePath
        $dir = New-TestFolder
        $file = Join-Path $dir 'my-net.onnx'
        Copy-Item (Get-HeteroModel tinynet).Path $file
        Measure-BatchProfile -Model $file -Unit cpu -BatchSize 1, 2 -Repeat 1 -Warmup 1 -NoRefine -Save -Path $t | Out-Null
        $rows | Set-PerfTable -Path $t
        Push-Location $dir
        try {
            $byFile = @(Get-PerfTable -Path $t -Model ./my-net.onnx)
            $byFile.Count | Should -Be 2
            $byFile.Model | Select-Object -Unique | Should -Be 'my-net'
            @(Get-PerfTable -Path $t -Model $file).Count | Should -Be 2
        } finally { Pop-Location }
        @(Get-PerfTable -Path $t -Model my-net).Count | Should -Be 2
    }

    It 'pivots to the seed''s matrix with -AsMatrix' {
        $t = New-TestTablePath
        $rows | Set-PerfTable -Path $t
        $m = @(Get-PerfTable -Path $t -Model demo-net -AsMatrix)
        $m.Count | Should -Be 4
        $m[0].BatchSize | Should -Be 1
        $m[0].PSObject.Properties.Name | Should -Contain 'GPU'
        $m[3].CPU | Should -Be (Get-PerfTable -Path $t -Unit CPU -BatchSize 8).TotalMs
    }

    It 'edits one entry, applying only the parameters given' {
        $t = New-TestTablePath
        $rows | Set-PerfTable -Path $t
        Set-PerfTable -Path $t -Model demo-net -Unit GPU -BatchSize 4 -ExecMs 9.5 -MachineName labhost
        $e = Get-PerfTable -Path $t -Unit GPU -BatchSize 4
        $e.ExecMs | Should -Be 9.5
        $e.IoMs | Should -Be 0.5
        @($e.History).Count | Should -Be 1
    }

    It 'removes entries with -Remove, honours -WhatIf and returns rows with -PassThru' {
        $t = New-TestTablePath
        $rows | Set-PerfTable -Path $t
        Set-PerfTable -Path $t -Remove -Unit IGPU -WhatIf
        @(Get-PerfTable -Path $t).Count | Should -Be 12
        $removed = @(Set-PerfTable -Path $t -Remove -Unit IGPU -PassThru -Confirm:$false)
        $removed.Count | Should -Be 4
        @(Get-PerfTable -Path $t).Count | Should -Be 8
        Set-PerfTable -Path $t -Remove -Model demo-net -Confirm:$false
        @(Get-PerfTable -Path $t).Count | Should -Be 0
    }

    It 'does not write with -WhatIf' {
        $t = New-TestTablePath
        $rows | Set-PerfTable -Path $t -WhatIf
        Test-Path $t | Should -BeFalse
    }

    It 'reports a table that is not JSON and leaves it untouched' {
        $t = New-TestTablePath
        Set-Content -Path $t -Value '{ not json'
        $before = Get-Content $t -Raw
        $err = { Get-PerfTable -Path $t -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'PerfTableCorrupt*'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err = { $rows | Set-PerfTable -Path $t -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'PerfTableCorrupt*'
        Get-Content $t -Raw | Should -Be $before
    }

    It 'reports a table of a newer schema version' {
        $t = New-TestTablePath
        Set-Content -Path $t -Value '{ "schemaVersion": 99, "entries": [] }'
        $err = { Get-PerfTable -Path $t -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'PerfTableVersionUnsupported*'
    }

    It 'rejects a row with a batch size of 0' {
        $t = New-TestTablePath
        $err = { [pscustomobject]@{ Model = 'm'; Unit = 'u'; BatchSize = 0; ExecMs = 1 } | Set-PerfTable -Path $t -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidPerfEntry*'
        Test-Path $t | Should -BeFalse
    }

    It 'rejects a row with an absurd batch size (above 1,048,576), naming the row and the bound' {
        $t = New-TestTablePath
        [pscustomobject]@{ Model = 'm'; Unit = 'u'; BatchSize = 1048576; ExecMs = 1 } | Set-PerfTable -Path $t
        (Get-PerfTable -Path $t).BatchSize | Should -Be 1048576
        $before = Get-Content $t -Raw
        $err = { [pscustomobject]@{ Model = 'm'; Unit = 'u'; BatchSize = 100000000; ExecMs = 1 } | Set-PerfTable -Path $t -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidPerfEntry*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match '100000000'
        $err.Exception.Message | Should -Match '1,048,576'
        Get-Content $t -Raw | Should -Be $before
    }
}

Describe 'Concurrent and interrupted writers' {
    It 'loses no row when 8 pwsh processes each merge 50 distinct rows into one table' {
        $t = New-TestTablePath
        $procs = foreach ($w in 1..8) {
            $cmd = "Import-Module '$manifest'; 1..50 | ForEach-Object { [pscustomobject]@{ Model = 'concurrent'; Unit = 'w$w'; BatchSize = `$_; ExecMs = `$_ * 1.5 } } | ForEach-Object { `$_ | Set-PerfTable -Path '$t' }"
            Start-TestPwsh -Command $cmd
        }
        foreach ($p in $procs) { $p.WaitForExit(240000) | Should -BeTrue; $p.ExitCode | Should -Be 0 }
        $all = @(Get-PerfTable -Path $t)
        $all.Count | Should -Be 400
        { Get-Content $t -Raw | ConvertFrom-Json } | Should -Not -Throw
    }

    It 'keeps the previous table intact when a writer is killed (SIGKILL) mid-write' {
        $t = New-TestTablePath
        $seed = foreach ($i in 1..3000) { [pscustomobject]@{ Model = 'big'; Unit = "u$($i % 30)"; BatchSize = $i; ExecMs = $i } }
        $seed | Set-PerfTable -Path $t
        $cmd = "Import-Module '$manifest'; `$r = 1..3000 | ForEach-Object { [pscustomobject]@{ Model = 'big'; Unit = ""u`$(`$_ % 30)""; BatchSize = `$_; ExecMs = `$_ + 0.5 } }; while (`$true) { `$r | Set-PerfTable -Path '$t' }"
        $p = Start-TestPwsh -Command $cmd
        Start-Sleep -Seconds 6
        $p.Kill()   # SIGKILL on Unix
        $p.WaitForExit(10000) | Should -BeTrue
        $after = @(Get-PerfTable -Path $t -Model big)
        $after.Count | Should -Be 3000
        $null = Get-Content $t -Raw | ConvertFrom-Json
    }
}
