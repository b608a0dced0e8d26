# The default views fit 120 columns wherever they are rendered: Out-String -Width 120 here, and the default
# output of a child pwsh whose output is redirected (a CI or cron log: the host is 80 columns wide there, and
# the plan and result views lay themselves out to fit it).
# No line is wider, and no table header is wrapped or cut ("Fa/il/ed").
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $scratch = New-TestFolder -Prefix 'hb-views-'
    $table = Join-Path $scratch 'perftable.json'

    # Builds the records to render: the worst cases a view meets (long unit and machine names, many batches,
    # failed units with long errors, -Top 20 with file names and tiny scores), a real run with -Top 5, a plan over
    # three units, and the table views. Run here and, dot-sourced, in the child pwsh.
    $builder = Join-Path $scratch 'Build-ViewRecords.ps1'
    Set-Content -LiteralPath $builder -Value @'
param([string] $TablePath)
$unit = { param($n, $items, $failed, $err)
    [HeteroBatch.Engine.Execution.UnitRunReport]@{ Unit = $n; MachineName = 'node-with-a-long-name'; Items = $items
        ExecutedBatchSizes = [int[]](@(128) * 7 + 57 + 3 + 1); PredictedMs = 12345.678; ActualMs = 23456.789; ExecMs = 1234.5; IoMs = 98.76
        TransferMs = 1234.56; ItemsCompleted = $items; Failed = $failed; Error = $err; ItemsReplanned = 17 } }
$oom = 'The CUDA provider ran out of memory while running a batch of 128 on gpu0 (11.8 GiB of 12 GiB in use by other processes); lower -MaxChunk or free the GPU and run again.'
$worst = [psobject][HeteroBatch.Engine.Execution.InferenceResult]@{ Model = 'densenet-121'; BatchSize = 100000; WallMs = 123456.78; PredictedMs = 120000.5
    Units = @((& $unit 'node-with-a-long-name/openvino:CPU' 50000 $false $null), (& $unit 'node-with-a-long-name/gpu0' 50000 $true $oom))
    Machines = @((& $unit 'node-with-a-long-name' 100000 $true 'The machine stopped answering: the SSH connection to node-with-a-long-name closed after 30 s without a reply.'))
    FailedUnits = @('node-with-a-long-name/gpu0'); FailedMachines = @('node-with-a-long-name') }
$worst | Add-Member -NotePropertyName TopK -NotePropertyValue @(foreach ($i in 0..11) { foreach ($k in 1..20) {
    [HeteroBatch.Engine.Execution.TopKPrediction]@{ Item = $i; Source = "a-rather-long-image-file-name-$i.jpeg"; Rank = $k; ClassIndex = 900 + $k; Score = [Math]::Pow(10, -$k / 3) } } })
$rows = foreach ($b in 1, 2, 4, 8, 16, 32) {
    [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'GPU'; BatchSize = $b; ExecMs = 3 + 0.3 * $b; IoMs = 0.1 * $b }
    [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'CPU'; BatchSize = $b; ExecMs = 9.0 * $b + 2; IoMs = 0 }
    [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'paper-i7'; Unit = 'IGPU'; BatchSize = $b; ExecMs = 5.0 * $b + 4; IoMs = 0.2 * $b }
}
$rows | Set-PerfTable -Path $TablePath | Out-Null
@{
    Worst = $worst
    Run   = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 12 -Top 5 -Path $TablePath
    Plan  = Split-Batch -Model resnet-50 -BatchSize 1000 -Unit CPU, IGPU, GPU -MachineName paper-i7 -Path $TablePath
    Rows  = Get-PerfTable -Path $TablePath
    Zoo   = Get-HeteroModel
    Units = Get-ComputeUnit
}
'@

    function Get-ViewProblems([string] $Text) {
        # Lines over 120 columns, and table headers that are wrapped or cut: every dash line's groups must sit
        # under whole header words of the same length.
        $lines = @(($Text -replace '\x1b\[[0-9;]*m', '') -split '\r?\n')
        $problems = [Collections.Generic.List[string]]::new()
        for ($i = 0; $i -lt $lines.Count; $i++) {
            $line = $lines[$i]
            if ($line.Length -gt 120) { $problems.Add("line $i is $($line.Length) columns: $line") }
            if ($line -match '^\s*-+( +-+)*\s*$' -and $i -gt 0) {
                $header = $lines[$i - 1]
                foreach ($m in [regex]::Matches($line, '-+')) {
                    $end = [Math]::Min($header.Length, $m.Index + $m.Length)
                    $word = if ($m.Index -lt $header.Length) { $header.Substring($m.Index, $end - $m.Index).Trim() } else { '' }
                    if ($word.Length -ne $m.Length -or $word -match '…') { $problems.Add("header '$word' above '$($m.Value)' is wrapped or cut: $header") }
                }
            }
        }
        , $problems.ToArray()
    }
    $records = & $builder -TablePath $table
}

Describe 'Default views' {
    It 'render <Name> within 120 columns with whole headers (Out-String -Width 120)' -ForEach @(
        @{ Name = 'Worst' }, @{ Name = 'Run' }, @{ Name = 'Plan' }, @{ Name = 'Rows' }, @{ Name = 'Zoo' }, @{ Name = 'Units' }
    ) {
        $text = $records[$Name] | Out-String -Width 120
        $text.Trim() | Should -Not -BeNullOrEmpty
        Get-ViewProblems $text | Should -BeNullOrEmpty
    }

    # The perf-table rows (11 columns, 113 wide) are left out here: they fit 120 columns, not the 80 of this host.
    It 'render within 120 columns with whole headers in a child pwsh with redirected output (a CI log)' {
        $manifest = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
        $cmd = "`$ErrorActionPreference = 'Stop'; Import-Module '$manifest'; `$r = & '$builder' -TablePath '$table'; " +
               "foreach (`$k in 'Worst', 'Run', 'Plan', 'Zoo', 'Units') { `"=== `$k`"; `$r[`$k] | Out-Default }"
        $result = Invoke-TestPwsh -Command $cmd -WorkingDirectory $scratch
        $result.ExitCode | Should -Be 0 -Because $result.Error
        $result.Error | Should -BeNullOrEmpty
        Get-ViewProblems $result.Output | Should -BeNullOrEmpty
        # Every section rendered something (a failing view script renders nothing).
        $sections = $result.Output -split '=== \w+'
        $sections.Count | Should -Be 6
        foreach ($s in $sections | Select-Object -Skip 1) { $s.Trim() | Should -Not -BeNullOrEmpty }
        $result.Output | Should -Match 'Unit\s+Items\s+Batches\s+PredictedMs\s+ActualMs'
        $result.Output | Should -Match 'out of memory'
    }

    It 'shows the unit table, failures whole, and the -Top classes with significant digits' {
        $text = $records.Worst | Out-String -Width 120
        $text | Should -Match '(?m)^Unit\s+Items\s+Batches\s+PredictedMs\s+ActualMs\s+ExecMs\s+IoMs\s+ItemsCompleted$'
        $text | Should -Match '7x128,57,'
        # The whole error, word-wrapped, not cut.
        ($text -replace '\s+', ' ') | Should -Match ([regex]::Escape('node-with-a-long-name/gpu0 failed: The CUDA provider ran out of memory') + '.*' + [regex]::Escape('free the GPU and run again.'))
        # Scores of 0.001 and below keep four significant digits (not 0.00); the first 10 items, then a note.
        $text | Should -Match '909: 0\.001\b'
        $text | Should -Match '910: 0\.0004642'
        $text | Should -Match '913: 4\.642E-05'
        $text | Should -Match 'a-rather-long-image-file-name-9\.jpeg'
        $text | Should -Not -Match 'a-rather-long-image-file-name-10\.jpeg'
        $text | Should -Match '2 more items: \$result\.TopK'
    }

    It 'shows the classes of a real -Top 5 run in the default view' {
        $run = $records.Run
        $text = $run | Out-String -Width 120
        $text | Should -Match 'Top 5 \(class: score\)'
        foreach ($item in 0..9) {
            $best = $run.TopK | Where-Object { $_.Item -eq $item -and $_.Rank -eq 1 }
            $expected = '{0}: {1}' -f $best.ClassIndex, [HeteroBatch.PS.Infrastructure.ViewText]::Score($best.Score)
            $text | Should -Match ("(?m)^\s*$item\s+" + [regex]::Escape($expected))
        }
        $text | Should -Match '2 more items'
    }

    It 'lists the zoo as a table, one line per network' {
        $lines = @(($records.Zoo | Out-String -Width 120) -split '\r?\n' | Where-Object { $_.Trim() })
        $lines.Count | Should -Be (2 + @($records.Zoo).Count)
        $lines[0] | Should -Match '^Name\s+Input\s+Output\s+ParamsM\s+SizeMB\s+Cached\s+Description'
        $lines | Should -Contain ($lines | Where-Object { $_ -match '^tinynet\s+3x32x32\s+10\s' })
    }
}

Describe 'ViewText' {
    It 'narrows text columns, never numbers, keeps the end of the first column and wraps the last' {
        $rows = @(
            [pscustomobject]@{ Unit = 'a-very-long-machine-name/gpu0'; Items = 123456; Reason = ('word ' * 30).Trim() }
            [pscustomobject]@{ Unit = 'cpu'; Items = 1; Reason = '' }
        )
        $text = [HeteroBatch.PS.Infrastructure.ViewText]::Table(40, $rows, 'Items')
        $lines = $text -split "`n"
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 40 }
        $lines[0] | Should -Match '^Unit\s+Items Reason$'
        $lines[2] | Should -Match '^…\S*/gpu0 123456 word'
        ($lines | Where-Object { $_ -match 'word' }).Count | Should -BeGreaterThan 1
        $lines[-1] | Should -Match '^cpu\s+1$'
    }

    It 'writes runs of equal batch sizes as count x size, and scores with four significant digits' {
        [HeteroBatch.PS.Infrastructure.ViewText]::BatchSizes([int[]](128, 128, 128, 128, 86)) | Should -Be '4x128,86'
        [HeteroBatch.PS.Infrastructure.ViewText]::BatchSizes([int[]](64, 32)) | Should -Be '64,32'
        [HeteroBatch.PS.Infrastructure.ViewText]::BatchSizes([int[]]@()) | Should -Be ''
        [HeteroBatch.PS.Infrastructure.ViewText]::Score(0.00123456) | Should -Be (0.001235).ToString()
        [HeteroBatch.PS.Infrastructure.ViewText]::Score(0.5) | Should -Be (0.5).ToString()
    }
}
