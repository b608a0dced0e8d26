BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    # A made-up CPU/IGPU/GPU machine shaped like the paper's (not its measurements; those are in
    # ../Engine.Tests/Planning/Data/seed-tables.csv), as a table exported elsewhere and imported here: host
    # 'paper-i7', ms for the whole batch; this GPU is not monotone: 17 costs more than 32.
    $csvPath = Join-Path (New-TestFolder -Prefix 'hb-split-') 'paper-i7.csv'
    $gpu = @{ 1 = 3.1; 2 = 3.3; 4 = 3.8; 8 = 5.0; 16 = 7.5; 17 = 11.9; 32 = 12.0; 33 = 19.5; 64 = 22.8; 65 = 33.0; 128 = 44.0 }
    $rows = foreach ($b in $gpu.Keys) {
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'GPU'; BatchSize = $b; ExecMs = $gpu[$b]; IoMs = 0.1 * $b }
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'CPU'; BatchSize = $b; ExecMs = 9.0 * $b + 2; IoMs = 0 }
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'IGPU'; BatchSize = $b; ExecMs = 5.0 * $b + 4; IoMs = 0.2 * $b }
    }
    $rows | Export-Csv $csvPath
    $table = New-TestTablePath
    Import-Csv $csvPath | Set-PerfTable -Path $table
}

Describe 'Split-Batch' {
    It 'plans a batch of 100 over another machine''s units from an imported table' {
        $plan = Split-Batch -Model resnet-50 -BatchSize 100 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $table
        $plan.BatchSize | Should -Be 100
        $plan.Algorithm | Should -Be 'Optimal'
        ($plan.Shares | Measure-Object Items -Sum).Sum | Should -Be 100
        $plan.Shares.Unit | Sort-Object | Should -Be @('CPU', 'GPU', 'IGPU')
        $offset = 0
        foreach ($s in $plan.Shares | Where-Object Items -gt 0) { $s.Offset | Should -Be $offset; $offset += $s.Items }
        $plan.PredictedMs | Should -BeLessOrEqual $plan.BestSingleUnitMs
        $plan.PredictedSpeedup | Should -BeGreaterOrEqual 1
        $plan.BestSingleUnit | Should -Be 'GPU'
    }

    It 'is never predicted slower than Seed, GreedyImproved, Proportional or Even' {
        $opt = Split-Batch -Model resnet-50 -BatchSize 100 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $table
        foreach ($a in 'Seed', 'GreedyImproved', 'Proportional', 'Even') {
            $other = Split-Batch -Model resnet-50 -BatchSize 100 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $table -Algorithm $a
            $other.Algorithm | Should -Be $a
            ($other.Shares | Measure-Object Items -Sum).Sum | Should -Be 100
            $opt.PredictedMs | Should -BeLessOrEqual ($other.PredictedMs + 1e-9)
        }
    }

    It 'gives the seed''s split on the paper''s own measured tables (Seed)' {
        # The tables the paper's code measured (shared/seed), and the splits a faithful port of its search gives
        # at 100 items (shared/seed/README.md), cpu / igpu / gpu.
        $seedTable = New-TestTablePath
        Import-Csv (Join-Path $PSScriptRoot '../Engine.Tests/Planning/Data/seed-tables.csv') | Set-PerfTable -Path $seedTable
        $expected = @{ 'resnet-50' = 15, 10, 75; 'mobilenet' = 11, 5, 84; 'vgg-16' = 7, 39, 54 }
        foreach ($net in $expected.Keys) {
            $plan = Split-Batch -Model $net -BatchSize 100 -Unit cpu, igpu, gpu -MachineName paper-i7-9700k -Path $seedTable -Algorithm Seed
            $plan.Algorithm | Should -Be 'Seed'
            $plan.Shares.Items | Should -Be $expected[$net] -Because $net
            $opt = Split-Batch -Model $net -BatchSize 100 -Unit cpu, igpu, gpu -MachineName paper-i7-9700k -Path $seedTable
            $opt.PredictedMs | Should -BeLessOrEqual ($plan.PredictedMs + 1e-9)
        }
    }

    It 'takes units from the pipeline by property name' {
        $plan = [pscustomobject]@{ Id = 'GPU' }, [pscustomobject]@{ Id = 'CPU' } |
            Split-Batch -Model resnet-50 -BatchSize 40 -MachineName paper-i7 -Path $table
        $plan.Shares.Unit | Sort-Object | Should -Be @('CPU', 'GPU')
    }

    It 'plans every row of a jobs file, one plan per piped record (Import-Csv jobs.csv | Split-Batch)' {
        $jobs = Join-Path (Split-Path $table) 'jobs.csv'
        @(
            [pscustomobject]@{ Model = 'resnet-50'; BatchSize = 10; MachineName = 'paper-i7' }
            [pscustomobject]@{ Model = 'resnet-50'; BatchSize = 50; MachineName = 'paper-i7' }
            [pscustomobject]@{ Model = 'resnet-50'; BatchSize = 100; MachineName = 'paper-i7' }
        ) | Export-Csv $jobs
        $plans = @(Import-Csv $jobs | Split-Batch -Path $table)
        $plans.Count | Should -Be 3
        $plans.BatchSize | Should -Be @(10, 50, 100)
        foreach ($p in $plans) {
            ($p.Shares | Measure-Object Items -Sum).Sum | Should -Be $p.BatchSize
            $p.Shares.Unit | Sort-Object | Should -Be @('CPU', 'GPU', 'IGPU')
        }
        # A record's own units: the job plans over them only.
        $two = @([pscustomobject]@{ Model = 'resnet-50'; BatchSize = 8; Unit = 'GPU' }, [pscustomobject]@{ Model = 'resnet-50'; BatchSize = 9; Unit = 'CPU' } |
            Split-Batch -MachineName paper-i7 -Path $table)
        $two.Count | Should -Be 2
        $two[0].Shares.Unit | Should -Be 'GPU'
        $two[1].Shares.Unit | Should -Be 'CPU'
        # A row that cannot be planned is that row's error; the rows after it are still planned.
        $mixed = @([pscustomobject]@{ Model = 'resnet-50'; BatchSize = 8; Unit = 'TPU' }, [pscustomobject]@{ Model = 'resnet-50'; BatchSize = 9; Unit = 'CPU' } |
            Split-Batch -MachineName paper-i7 -Path $table -ErrorVariable rowErrors -ErrorAction SilentlyContinue)
        $mixed.Count | Should -Be 1
        $mixed[0].BatchSize | Should -Be 9
        @($rowErrors).Count | Should -Be 1
        $rowErrors[0].FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
    }

    It 'lists a unit that gets nothing with a reason' {
        $plan = Split-Batch -Model resnet-50 -BatchSize 2 -Unit CPU, GPU -MachineName paper-i7 -Path $table
        $idle = $plan.Shares | Where-Object Items -eq 0
        $idle | Should -Not -BeNullOrEmpty
        $idle.Reason | Should -Not -BeNullOrEmpty
    }

    It 'shows the shares and the speedup in its default view' {
        $text = Split-Batch -Model resnet-50 -BatchSize 100 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $table | Out-String
        $text | Should -Match 'speedup'
        $text | Should -Match 'IGPU'
    }

    It 'survives a JSON round trip' {
        $plan = Split-Batch -Model resnet-50 -BatchSize 100 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $table
        $copy = $plan | ConvertTo-Json -Depth 6 | ConvertFrom-Json
        $copy.Shares.Count | Should -Be 3
        ($copy.Shares | Measure-Object Items -Sum).Sum | Should -Be 100
    }

    It 'rejects bad input with stable ErrorIds' -ForEach @(
        @{ Case = 'N = 0'; Script = { Split-Batch -Model resnet-50 -BatchSize 0 -Unit GPU -MachineName paper-i7 -Path $table -ErrorAction Stop }; Id = 'InvalidBatchSize' }
        @{ Case = 'negative N'; Script = { Split-Batch -Model resnet-50 -BatchSize -3 -Unit GPU -MachineName paper-i7 -Path $table -ErrorAction Stop }; Id = 'InvalidBatchSize' }
        @{ Case = 'unit not in the table'; Script = { Split-Batch -Model resnet-50 -BatchSize 10 -Unit GPU, TPU -MachineName paper-i7 -Path $table -ErrorAction Stop }; Id = 'MissingProfile' }
        @{ Case = 'model not in the table'; Script = { Split-Batch -Model vgg-16 -BatchSize 10 -Unit GPU -MachineName paper-i7 -Path $table -ErrorAction Stop }; Id = 'MissingProfile' }
        @{ Case = 'no units'; Script = { Split-Batch -Model resnet-50 -BatchSize 10 -MachineName nowhere -Path $table -ErrorAction Stop }; Id = 'NoUnits' }
    ) {
        $err = { & $Script } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike "$Id*"
        $err.Exception.Message | Should -Not -Match '   at '
    }

    It 'names Measure-BatchProfile in the missing-profile hint' {
        $err = { Split-Batch -Model resnet-50 -BatchSize 10 -Unit TPU -MachineName paper-i7 -Path $table -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -Match 'Measure-BatchProfile'
        $err.Exception.Message | Should -Match 'TPU'
    }
}
