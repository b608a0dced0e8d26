# Issue 11's CPU-side parts as a user meets them: a batch loaded once and run again, setup reported apart from the
# run in a new process, and calls that write no progress when they end before anyone could read it.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $table = New-TestTablePath
    $null = Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1, 2, 4, 8, 16 -Save -Path $table
}

Describe 'New-HeteroBatch and -Batch' {
    It 'runs a batch loaded once, with the same outputs as the synthetic batch of that size and seed' {
        $batch = New-HeteroBatch -Model tinynet -BatchSize 12 -Seed 5
        $batch.Count | Should -Be 12
        $batch.ItemShape | Should -Be @(3, 32, 32)
        $fromBatch = Invoke-HeteroInference -Model tinynet -Batch $batch -Unit cpu -Path $table -PassThru
        $synthetic = Invoke-HeteroInference -Model tinynet -BatchSize 12 -Seed 5 -Unit cpu -Path $table -PassThru
        $fromBatch.Input | Should -Be $synthetic.Input
        [Linq.Enumerable]::SequenceEqual([float[]]$fromBatch.Output.ToArray(), [float[]]$synthetic.Output.ToArray()) | Should -BeTrue
    }

    It 'pipes batches, one run each' {
        $results = @(New-HeteroBatch -Model tinynet -BatchSize 3), @(New-HeteroBatch -Model tinynet -BatchSize 5) |
            ForEach-Object { $_ } | Invoke-HeteroInference -Model tinynet -Unit cpu -Path $table
        $results.BatchSize | Should -Be @(3, 5)
    }

    It 'copies a float array once into a batch of its own' {
        $values = [float[]]::new(2 * 3 * 32 * 32)
        $values[7] = 1.5
        $batch = New-HeteroBatch -Model tinynet -InputObject $values -InputShape 2, 3, 32, 32
        $values[7] = 9
        $batch.Data.ToArray()[7] | Should -Be 1.5
        (Invoke-HeteroInference -Model tinynet -Batch $batch -Unit cpu -Path $table).BatchSize | Should -Be 2
    }

    It 'loads nothing under -WhatIf' {
        New-HeteroBatch -Model tinynet -BatchSize 4 -WhatIf | Should -BeNullOrEmpty
    }

    It 'names a missing input file with InputNotFound' {
        { New-HeteroBatch -Model tinynet -InputPath (Join-Path (New-TestFolder) 'none.npy') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InputNotFound,HeteroBatch.PS.Cmdlets.NewHeteroBatchCommand'
    }
}

Describe 'Setup apart from the run, in a new process' {
    It 'reports the first call''s session start as SetupMs, not as run time, and none on the next call' {
        $module = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
        $cmd = "Import-Module '$module'; " +
            "`$a = Invoke-HeteroInference -Model tinynet -BatchSize 8 -Unit cpu -Path '$table' -NoAutoProfile; " +
            "`$b = Invoke-HeteroInference -Model tinynet -BatchSize 8 -Unit cpu -Path '$table' -NoAutoProfile; " +
            "@(`$a, `$b) | Select-Object SetupMs, WallMs, PredictedMs, @{ n = 'UnitSetupMs'; e = { `$_.Units[0].SetupMs } } | ConvertTo-Json -Compress"
        $run = Invoke-TestPwsh -Command $cmd
        $run.ExitCode | Should -Be 0 -Because $run.Error
        $first, $second = $run.Output | ConvertFrom-Json
        # Opening the session is setup; the run itself is the steady time the table predicts.
        $first.SetupMs | Should -BeGreaterThan 0
        $first.UnitSetupMs | Should -BeGreaterThan 0
        $first.WallMs | Should -BeLessThan $first.SetupMs
        $second.SetupMs | Should -BeLessThan $first.SetupMs
    }
}

Describe 'Progress of short calls' {
    It 'writes no progress for a call that ends within 150 ms, and still ends the activity' {
        $ps = [powershell]::Create()
        try {
            # A first call warms the session (a cold one may take longer than 150 ms on a busy machine).
            $null = $ps.AddScript("Import-Module '$(Join-Path (Get-TestModulePath) 'HeteroBatch.psd1')'; `$ProgressPreference = 'Continue'; " +
                "`$null = Invoke-HeteroInference -Model tinynet -BatchSize 4 -Unit cpu -Path '$table' -NoAutoProfile")
            $null = $ps.Invoke()
            $ps.Commands.Clear()
            $ps.Streams.Progress.Clear()
            $null = $ps.AddScript("`$null = Invoke-HeteroInference -Model tinynet -BatchSize 4 -Unit cpu -Path '$table' -NoAutoProfile; " +
                "`$null = Invoke-HeteroInference -Model tinynet -BatchSize 4 -Unit cpu -Path '$table' -NoAutoProfile")
            $null = $ps.Invoke()
            $ps.HadErrors | Should -BeFalse
            $records = @($ps.Streams.Progress | Where-Object Activity -like 'Invoke-HeteroInference*')
            @($records | Where-Object RecordType -eq 'Processing').Count | Should -Be 0
            @($records | Where-Object RecordType -eq 'Completed').Count | Should -Be 2
        } finally { $ps.Dispose() }
    }
}
