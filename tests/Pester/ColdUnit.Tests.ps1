# Issue 11's rule as a user meets it: on a cold call the planner leaves out a unit whose setup (opening its session,
# warming its sizes) costs more than it saves, says so under -Verbose, and uses the unit once it is warm (-WarmUp).
# The table is written with Set-PerfTable (two equal CPU slices, 1 ms an item; cpu:1's session said to take 10 minutes
# to open), and the calls run in a fresh pwsh, where no session is open yet.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $table = New-TestTablePath
    $cpu = Get-ComputeUnit -Id cpu
    $hash = (Get-HeteroModel -Model tinynet).Hash
    # The options a run on two slices gives each (half the cores, at least one thread): the table keys on them.
    $threads = [Math]::Max(1, [int][Math]::Floor([Environment]::ProcessorCount / 2))
    $rows = foreach ($unit in 'cpu:0', 'cpu:1') {
        foreach ($b in 1, 2, 4, 8, 16, 32) {
            [pscustomobject]@{ Model = 'tinynet'; ModelHash = $hash; MachineName = $cpu.MachineName; Unit = $unit; DeviceName = $cpu.Name
                Backend = $cpu.Backend; BackendOptions = "threads=$threads"; BatchSize = $b; ExecMs = 1.0 * $b; IoMs = 0; Repeats = 3
                OpenMs = $(if ($unit -eq 'cpu:1') { 600000 } else { 1 }); WarmUpMs = 0 }
        }
    }
    $rows | Set-PerfTable -Path $table
}

Describe 'A cold unit whose setup costs more than it saves' {
    BeforeAll {
        $module = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
        $run = "-Model tinynet -Unit cpu:0, cpu:1 -BatchSize 32 -Path '$table' -NoAutoProfile"
        $cmd = "Import-Module '$module'; `$ErrorActionPreference = 'Stop'; " +
            "function Split-Run(`$all) { [pscustomobject]@{ Verbose = @(`$all | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message); " +
            "Result = @(`$all | Where-Object { `$_ -is [HeteroBatch.Engine.Execution.InferenceResult] })[0] } }; " +
            "`$cold = Split-Run (Invoke-HeteroInference $run -Verbose 4>&1); " +
            "`$warm = Split-Run (Invoke-HeteroInference $run -WarmUp -Verbose 4>&1); " +
            "`$after = Split-Run (Invoke-HeteroInference $run -Verbose 4>&1); " +
            "`$view = (`$cold.Result | Out-String -Width 200); " +
            "@(foreach (`$c in `$cold, `$warm, `$after) { [pscustomobject]@{ Verbose = `$c.Verbose; LeftOut = @(`$c.Result.LeftOutCold.Unit); " +
            "  Reasons = @(`$c.Result.LeftOutCold.Reason); Items1 = [int](@(`$c.Result.Units | Where-Object Unit -eq 'cpu:1') | Measure-Object ItemsCompleted -Sum).Sum; " +
            "  Items = (`$c.Result.Units | Measure-Object ItemsCompleted -Sum).Sum; View = `$view } }) | ConvertTo-Json -Depth 4 -Compress"
        $out = Invoke-TestPwsh -Command $cmd
        $out.ExitCode | Should -Be 0 -Because $out.Error
        $cold, $warm, $after = $out.Output | ConvertFrom-Json
    }

    It 'is left out on a cold call, and -Verbose says which, its setup, what it would save and how to keep it' {
        $cold.LeftOut | Should -Be @('cpu:1')
        $cold.Items1 | Should -Be 0
        $cold.Items | Should -Be 32
        $message = @($cold.Verbose | Where-Object { $_ -like 'Left out cold unit cpu:1*' })
        $message.Count | Should -Be 1
        $message[0] | Should -Match 'estimated at 600000 ms'
        $message[0] | Should -Match 'more than the 16 ms it would save the run'
        $message[0] | Should -Match '-WarmUp'
        $cold.Reasons[0] | Should -Be $message[0]
        $cold.View | Should -Match 'Left out cold: cpu:1'
    }

    It 'is kept with -WarmUp, which warms it' {
        $warm.LeftOut | Should -BeNullOrEmpty
        $warm.Items1 | Should -BeGreaterThan 0
        $warm.Verbose -join "`n" | Should -Not -Match 'Left out cold unit'
    }

    It 'is used by the next call, now that it is warm' {
        $after.LeftOut | Should -BeNullOrEmpty
        $after.Items1 | Should -BeGreaterThan 0
        $after.Items | Should -Be 32
        $after.Verbose -join "`n" | Should -Not -Match 'cold unit'
    }
}

Describe 'Setup costs in the perf table' {
    It 'round-trip through Get-PerfTable, Export-Csv | Import-Csv and ConvertTo-Json, an empty cell staying unknown' {
        $t = New-TestTablePath
        @(
            [pscustomobject]@{ Model = 'demo-net'; Unit = 'gpu0'; BatchSize = 8; ExecMs = 2.5; MachineName = 'labhost'; OpenMs = 1234.5; WarmUpMs = 40.25 }
            [pscustomobject]@{ Model = 'demo-net'; Unit = 'cpu'; BatchSize = 8; ExecMs = 9.5; MachineName = 'labhost' }
        ) | Set-PerfTable -Path $t
        $rows = @(Get-PerfTable -Path $t)
        ($rows | Where-Object Unit -eq 'gpu0').OpenMs | Should -Be 1234.5
        ($rows | Where-Object Unit -eq 'gpu0').WarmUpMs | Should -Be 40.25
        ($rows | Where-Object Unit -eq 'cpu').OpenMs | Should -BeNullOrEmpty

        $csv = Join-Path (Split-Path $t) 'rows.csv'
        $rows | Export-Csv $csv
        $t2 = New-TestTablePath
        Import-Csv $csv | Set-PerfTable -Path $t2
        $back = @(Get-PerfTable -Path $t2)
        ($back | Where-Object Unit -eq 'gpu0').OpenMs | Should -Be 1234.5
        ($back | Where-Object Unit -eq 'gpu0').WarmUpMs | Should -Be 40.25
        $null -eq ($back | Where-Object Unit -eq 'cpu').OpenMs | Should -BeTrue -Because 'an empty CSV cell is unknown, not 0'
        $null -eq ($back | Where-Object Unit -eq 'cpu').WarmUpMs | Should -BeTrue

        $t3 = New-TestTablePath
        $rows | ConvertTo-Json -Depth 5 | ConvertFrom-Json | Set-PerfTable -Path $t3
        (Get-PerfTable -Path $t3 -Unit gpu0).OpenMs | Should -Be 1234.5
        $null -eq (Get-PerfTable -Path $t3 -Unit cpu).OpenMs | Should -BeTrue
    }

    It 'rejects a negative setup cost with InvalidPerfEntry' {
        { Set-PerfTable -Model demo-net -Unit cpu -BatchSize 1 -ExecMs 1 -Status Ok -OpenMs -5 -Path (New-TestTablePath) -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidPerfEntry*'
    }

    It 'edits a row''s setup cost directly, keeping the rest' {
        $t = New-TestTablePath
        Set-PerfTable -Model demo-net -Unit gpu0 -BatchSize 4 -ExecMs 3 -Path $t
        Set-PerfTable -Model demo-net -Unit gpu0 -BatchSize 4 -ExecMs 3 -OpenMs 800 -Path $t
        (Get-PerfTable -Path $t).OpenMs | Should -Be 800
        Set-PerfTable -Model demo-net -Unit gpu0 -BatchSize 4 -ExecMs 2 -Path $t
        $row = Get-PerfTable -Path $t
        $row.ExecMs | Should -Be 2
        $row.OpenMs | Should -Be 800
    }
}
