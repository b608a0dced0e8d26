# What a new user meets (issue 15, "Defects"): each test would have caught one of them, against the staged module,
# real pwsh processes and the zoo's tinynet / mobilenet.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $manifest = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
    Import-Module $manifest -Force

    $script:scratch = Join-Path ([IO.Path]::GetTempPath()) ('hb-newuser-' + [Guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $scratch
    function New-ScratchFolder([string] $Name = 'case') {
        $dir = Join-Path $script:scratch ($Name + '-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $dir
        $dir
    }
    function Get-ErrorOf([scriptblock] $Script) {
        try { & $Script; $null } catch { $_ }
    }
    # A path that even root cannot write on Linux: procfs accepts no new files (ENOENT on create).
    $script:readOnlyTable = '/proc/heterobatch-newuser-perftable.json'
    $script:linux = $IsLinux
    $script:tinynetFile = (Get-HeteroModel -Name tinynet).Path
}

AfterAll {
    if ($script:scratch -and (Test-Path $script:scratch)) { Remove-Item -Recurse -Force $script:scratch -ErrorAction SilentlyContinue }
}

Describe 'MissingProfile gives a command that, pasted, makes the retry work' {
    It 'for a zoo name: the hint has -Save, the units and -Path; running it lets Split-Batch plan' {
        $table = Join-Path (New-ScratchFolder 'zoo') 'my table.json'
        $err = Get-ErrorOf { Split-Batch -Model tinynet -BatchSize 8 -Unit cpu -Path $table }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
        $err.Exception.Message -match 'then retry: (Measure-BatchProfile .*)$' | Should -BeTrue -Because $err.Exception.Message
        $hint = $Matches[1]
        $hint | Should -Match ' -Save'
        $hint | Should -Match ' -Unit cpu'
        $hint | Should -Match ([regex]::Escape(" -Path '$table'"))
        $null = Invoke-Expression $hint
        $plan = Split-Batch -Model tinynet -BatchSize 8 -Unit cpu -Path $table
        $plan.BatchSize | Should -Be 8
    }

    It 'for an ONNX file given by a relative path: the hint names that path, not the file stem' {
        $dir = New-ScratchFolder 'file'
        Copy-Item $script:tinynetFile (Join-Path $dir 'my net.onnx')
        $table = Join-Path $dir 'perf.json'
        Push-Location $dir
        try {
            $err = Get-ErrorOf { Split-Batch -Model './my net.onnx' -BatchSize 4 -Unit cpu -Path ./perf.json }
            $err.FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
            $err.Exception.Message -match 'then retry: (Measure-BatchProfile .*)$' | Should -BeTrue -Because $err.Exception.Message
            $hint = $Matches[1]
            $hint | Should -Match ([regex]::Escape("-Model './my net.onnx'"))
            $hint | Should -Not -Match '-Model (my|''my) net\b'
            $null = Invoke-Expression $hint
            (Split-Batch -Model './my net.onnx' -BatchSize 4 -Unit cpu -Path ./perf.json).BatchSize | Should -Be 4
            Test-Path $table | Should -BeTrue
        }
        finally { Pop-Location }
    }
}

Describe 'MissingProfile of Split-Batch -BackendOptions' {
    It 'gives a command that measures with those options' {
        $table = Join-Path (New-ScratchFolder 'opts') 'perf.json'
        $null = Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1, 4 -Repeat 1 -Warmup 0 -NoRefine -Save -Path $table
        $err = Get-ErrorOf { Split-Batch -Model tinynet -BatchSize 4 -Unit cpu -BackendOptions 'threads=1' -Path $table }
        if ($null -eq $err) { Set-ItResult -Skipped -Because 'this machine profiles the CPU with one thread already'; return }
        $err.FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
        $err.Exception.Message -match 'then retry: (Measure-BatchProfile .*)$' | Should -BeTrue -Because $err.Exception.Message
        $Matches[1] | Should -Match ' -ThreadCount 1 '
        $null = Invoke-Expression $Matches[1]
        (Split-Batch -Model tinynet -BatchSize 4 -Unit cpu -BackendOptions 'threads=1' -Path $table).BatchSize | Should -Be 4
    }
}

Describe 'MissingProfile of Invoke-HeteroInference -NoAutoProfile' {
    It 'ends with a command that, pasted, lets the same run go through' {
        $table = Join-Path (New-ScratchFolder 'noauto') 'perf.json'
        $err = Get-ErrorOf { Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 6 -NoAutoProfile -Path $table }
        $err.FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
        $err.Exception.Message -match 'then retry: (Measure-BatchProfile .*)$' | Should -BeTrue -Because $err.Exception.Message
        $hint = $Matches[1]
        $hint | Should -Match ' -Save'
        $null = Invoke-Expression $hint
        (Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 6 -NoAutoProfile -Path $table).BatchSize | Should -Be 6
    }

    It 'for CPU slices, which only a run profiles, says to run once without -NoAutoProfile' {
        $table = Join-Path (New-ScratchFolder 'noauto') 'perf.json'
        $err = Get-ErrorOf { Invoke-HeteroInference -Model tinynet -Unit cpu:0, cpu:1 -BatchSize 6 -NoAutoProfile -Path $table }
        $err.FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
        $err.Exception.Message | Should -BeLike '*without -NoAutoProfile*'
    }
}

Describe 'Split-Batch names what is really missing' {
    It 'a model file that does not exist is ModelNotFound, naming the file' {
        $table = Join-Path (New-ScratchFolder 'nf') 'perf.json'
        $missing = Join-Path $script:scratch 'no-such-model.onnx'
        $err = Get-ErrorOf { Split-Batch -Model $missing -BatchSize 4 -Unit cpu -Path $table }
        $err.FullyQualifiedErrorId | Should -BeLike 'ModelNotFound*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.Exception.Message | Should -BeLike "*$missing*"
    }

    It 'a bare name that is neither a zoo name nor in the table is ModelNotFound, listing the zoo' {
        $table = Join-Path (New-ScratchFolder 'nf') 'perf.json'
        $err = Get-ErrorOf { Split-Batch -Model sq -BatchSize 4 -Unit cpu -Path $table }
        $err.FullyQualifiedErrorId | Should -BeLike 'ModelNotFound*'
        $err.Exception.Message | Should -BeLike '*tinynet*'
    }

    It 'an unknown unit is UnitNotFound, not MissingProfile' {
        $table = Join-Path (New-ScratchFolder 'unit') 'perf.json'
        $err = Get-ErrorOf { Split-Batch -Model tinynet -BatchSize 4 -Unit cpu, gpu97 -Path $table }
        $err.FullyQualifiedErrorId | Should -BeLike 'UnitNotFound*'
        $err.Exception.Message | Should -BeLike '*gpu97*'
    }

    It 'a name known only to the table (an imported row) still plans' {
        $table = Join-Path (New-ScratchFolder 'imp') 'perf.json'
        Set-PerfTable -Model labnet -Unit cpu -BatchSize 1 -ExecMs 2 -Path $table
        Set-PerfTable -Model labnet -Unit cpu -BatchSize 8 -ExecMs 9 -Path $table
        (Split-Batch -Model labnet -BatchSize 8 -Unit cpu -Path $table).BatchSize | Should -Be 8
    }
}

Describe 'A read-only table location fails at once with a write error naming the folder' -Skip:(-not $IsLinux) {
    It '<Name>' -ForEach @(
        @{ Name = 'Measure-BatchProfile -Save'; Run = { Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1 -Repeat 1 -Warmup 0 -NoRefine -Save -Path '/proc/heterobatch-newuser-perftable.json' } }
        @{ Name = 'Set-PerfTable'; Run = { Set-PerfTable -Model tinynet -Unit cpu -BatchSize 1 -ExecMs 1 -Path '/proc/heterobatch-newuser-perftable.json' } }
        @{ Name = 'Set-PerfTable from the pipeline'; Run = { [pscustomobject]@{ Model = 'x'; Unit = 'cpu'; BatchSize = 1; ExecMs = 1; Status = 'Ok' } | Set-PerfTable -Path '/proc/heterobatch-newuser-perftable.json' } }
        @{ Name = 'Invoke-HeteroInference auto-profiling'; Run = { Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 2 -Path '/proc/heterobatch-newuser-perftable.json' } }
        @{ Name = 'Invoke-HeteroInference -UpdatePerfTable, checked before the run'; Run = { Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 2 -NoAutoProfile -UpdatePerfTable -Path '/proc/heterobatch-newuser-perftable.json' } }
    ) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $err = Get-ErrorOf $Run
        $clock.Stop()
        $err | Should -Not -BeNullOrEmpty
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        $err.FullyQualifiedErrorId | Should -BeLike 'PerfTableWriteFailed*'
        $err.CategoryInfo.Category | Should -Be 'WriteError'
        $err.Exception.Message | Should -BeLike "*'/proc'*"
        $err.Exception.Message | Should -Not -BeLike '*locked by another writer*'
        $err.Exception.Message | Should -BeLike '*-Path*'
    }
}

Describe '-Model tab completion' {
    BeforeAll {
        $script:here = New-ScratchFolder 'here'
        $null = New-Item -ItemType Directory (Join-Path $here 'dsub')
        Copy-Item $script:tinynetFile (Join-Path $here 'dmodel.onnx')
        Set-Content (Join-Path $here 'data.txt') 'not a model'
        Set-Content (Join-Path $here 'notes.md') 'not a model'
        # The process's working directory holds a folder matching the prefix (the old completer threw there) and
        # a model PowerShell's location does not have.
        $script:elsewhere = New-ScratchFolder 'elsewhere'
        $null = New-Item -ItemType Directory (Join-Path $elsewhere 'deep')
        Copy-Item $script:tinynetFile (Join-Path $elsewhere 'dother.onnx')
        $script:savedCwd = [Environment]::CurrentDirectory
        [Environment]::CurrentDirectory = $elsewhere
        Push-Location $here
        function Complete([string] $Line) {
            @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches)
        }
    }
    AfterAll {
        Pop-Location
        [Environment]::CurrentDirectory = $script:savedCwd
    }

    It 'offers zoo names, and .onnx files and folders of $PWD, for a prefix matching a folder' {
        $m = Complete 'Measure-BatchProfile -Model d'
        $texts = $m.CompletionText
        $texts | Should -Contain 'densenet-121'
        ($texts | Where-Object { $_ -like '*dmodel.onnx' }) | Should -Not -BeNullOrEmpty
        ($texts | Where-Object { $_ -like '*dsub*' }) | Should -Not -BeNullOrEmpty
        ($texts | Where-Object { $_ -like '*data.txt*' }) | Should -BeNullOrEmpty
        ($texts | Where-Object { $_ -like '*dother*' -or $_ -like '*deep*' }) | Should -BeNullOrEmpty
    }

    It 'offers zoo names and models, not every file, for an empty prefix' {
        $texts = (Complete 'Split-Batch -Model ').CompletionText
        foreach ($zoo in 'tinynet', 'resnet-50', 'densenet-121') { $texts | Should -Contain $zoo }
        ($texts | Where-Object { $_ -like '*dmodel.onnx' }) | Should -Not -BeNullOrEmpty
        ($texts | Where-Object { $_ -like '*.txt*' -or $_ -like '*.md*' }) | Should -BeNullOrEmpty
    }

    It 'completes inside a folder, and the completed path names the file' {
        Copy-Item $script:tinynetFile (Join-Path $here 'dsub/inner.onnx')
        $texts = (Complete 'Measure-BatchProfile -Model ./dsub/').CompletionText
        $hit = @($texts | Where-Object { $_ -like '*inner.onnx' })
        $hit.Count | Should -Be 1
        $texts | Should -Not -Contain 'densenet-121'
        Test-Path -LiteralPath $hit[0].Trim("'") | Should -BeTrue
    }
}

Describe 'CSV round trip: Export-Csv, edit, Import-Csv | Set-PerfTable' {
    BeforeAll {
        $script:csvDir = New-ScratchFolder 'csv'
        $script:csvTable = Join-Path $csvDir 'perf.json'
        $null = Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1, 2, 4 -Repeat 2 -Warmup 0 -NoRefine -Save -Path $csvTable
        $script:before = @(Get-PerfTable -Path $csvTable -Model tinynet | Sort-Object BatchSize)
    }

    It 'an unedited export changes nothing' {
        $csv = Join-Path $csvDir 'same.csv'
        Get-PerfTable -Path $csvTable | Export-Csv $csv
        $verbose = Import-Csv $csv | Set-PerfTable -Path $csvTable -Verbose 4>&1 | Out-String
        $verbose | Should -BeLike '*0 added, 0 replaced, 3 unchanged*'
    }

    It 'an edited value is taken, and the other rows keep their exact timestamps' {
        $csv = Join-Path $csvDir 'edit.csv'
        Get-PerfTable -Path $csvTable | Export-Csv $csv
        $rows = @(Import-Csv $csv)
        ($rows | Where-Object BatchSize -eq '2').ExecMs = '123.5'
        $rows | Export-Csv $csv
        $verbose = Import-Csv $csv | Set-PerfTable -Path $csvTable -Verbose 4>&1 | Out-String
        $verbose | Should -BeLike '*0 added, 1 replaced, 2 unchanged*'
        $after = @(Get-PerfTable -Path $csvTable -Model tinynet | Sort-Object BatchSize)
        ($after | Where-Object BatchSize -eq 2).ExecMs | Should -Be 123.5
        foreach ($b in 1, 4) {
            ($after | Where-Object BatchSize -eq $b).Timestamp.UtcTicks | Should -Be ($before | Where-Object BatchSize -eq $b).Timestamp.UtcTicks
            ($after | Where-Object BatchSize -eq $b).ExecMs | Should -Be ($before | Where-Object BatchSize -eq $b).ExecMs
        }
    }

    It 'an edited row older than the table is not applied, and a warning names it' {
        $csv = Join-Path $csvDir 'old.csv'
        $row = Get-PerfTable -Path $csvTable -Model tinynet | Where-Object BatchSize -eq 4
        $old = $row.Timestamp.AddDays(-1)
        [pscustomobject]@{ Model = $row.Model; ModelHash = $row.ModelHash; MachineName = $row.MachineName; Unit = $row.Unit; DeviceName = $row.DeviceName
            Backend = $row.Backend; BackendOptions = $row.BackendOptions; BatchSize = 4; ExecMs = 999; IoMs = $row.IoMs; Status = 'Ok'
            Timestamp = $old.ToString('o') } | Export-Csv $csv
        $warnings = Import-Csv $csv | Set-PerfTable -Path $csvTable 3>&1 | Out-String
        $warnings | Should -BeLike '*not applied*tinynet on cpu*batch 4*'
        (Get-PerfTable -Path $csvTable -Model tinynet | Where-Object BatchSize -eq 4).ExecMs | Should -Be $row.ExecMs
    }
}

Describe 'Invoke-HeteroInference checks -OutputPath before the run' -Skip:(-not $IsLinux) {
    It 'a folder that cannot be written fails before profiling, naming the folder' {
        $dir = New-ScratchFolder 'out'
        $table = Join-Path $dir 'perf.json'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $err = Get-ErrorOf { Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 64 -Path $table -OutputPath /proc/heterobatch-out/result.npy }
        $clock.Stop()
        $err.FullyQualifiedErrorId | Should -BeLike 'OutputWriteFailed*'
        $err.CategoryInfo.Category | Should -Be 'WriteError'
        $err.Exception.Message | Should -BeLike "*'/proc/heterobatch-out'*"
        Test-Path $table | Should -BeFalse -Because 'nothing was profiled before the output folder was checked'
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
    }

    It 'an output path under a file (not a folder) fails the same way' {
        $dir = New-ScratchFolder 'out'
        $file = Join-Path $dir 'plain.txt'
        Set-Content $file 'x'
        $err = Get-ErrorOf { Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 2 -Path (Join-Path $dir 'perf.json') -OutputPath (Join-Path $file 'out.npy') }
        $err.FullyQualifiedErrorId | Should -BeLike 'OutputWriteFailed*'
        $err.Exception.Message | Should -BeLike "*$file*"
        Test-Path (Join-Path $dir 'perf.json') | Should -BeFalse
    }
}

Describe 'A non-image file in an image folder is named in a warning' {
    It 'warns about notes.txt and runs the images' {
        Add-Type -Path (Join-Path (Get-TestModulePath) 'SixLabors.ImageSharp.dll')
        $dir = New-ScratchFolder 'img'
        foreach ($n in 1, 2) {
            $img = [SixLabors.ImageSharp.Image[SixLabors.ImageSharp.PixelFormats.Rgb24]]::new(40, 36)
            try { [SixLabors.ImageSharp.ImageExtensions]::SaveAsPng($img, (Join-Path $dir "img$n.png")) } finally { $img.Dispose() }
        }
        Set-Content (Join-Path $dir 'notes.txt') 'not an image'
        $table = Join-Path (New-ScratchFolder 'imgtable') 'perf.json'
        $result = Invoke-HeteroInference -Model tinynet -Unit cpu -InputPath $dir -Path $table -WarningVariable warned -WarningAction SilentlyContinue
        $result.BatchSize | Should -Be 2
        @($warned).Count | Should -Be 1
        "$($warned[0])" | Should -BeLike "*notes.txt*"
    }
}

Describe 'Ctrl+C during profiling keeps every completed measurement' -Skip:(-not $IsLinux -or -not (Test-Path /usr/bin/env) -or -not (Get-Command kill -CommandType Application -ErrorAction SilentlyContinue)) {
    BeforeAll {
        function Start-Interruptible([string] $Command) {
            # env --default-signal gives the child a default SIGINT even when this test runs with SIGINT ignored
            # (a background job), as a terminal's Ctrl+C would reach it.
            $inv = Get-PwshInvocation
            $psi = [Diagnostics.ProcessStartInfo]::new('/usr/bin/env')
            foreach ($a in @('--default-signal=INT') + $inv + @('-NoProfile', '-NonInteractive', '-Command', $Command)) { $psi.ArgumentList.Add($a) }
            $psi.UseShellExecute = $false
            $psi.RedirectStandardOutput = $true
            $psi.RedirectStandardError = $true
            [Diagnostics.Process]::Start($psi)
        }
        function Get-RowCount([string] $Table) {
            if (-not (Test-Path $Table)) { return 0 }
            try { @((Get-Content $Table -Raw | ConvertFrom-Json).entries).Count } catch { 0 }
        }
        function Test-Interrupt([string] $Command, [string] $Table, [int] $WaitForRows, [int] $TimeoutSeconds = 240) {
            $p = Start-Interruptible $Command
            $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
            $clock = [Diagnostics.Stopwatch]::StartNew()
            while ((Get-RowCount $Table) -lt $WaitForRows -and -not $p.HasExited -and $clock.Elapsed.TotalSeconds -lt $TimeoutSeconds) { Start-Sleep -Milliseconds 50 }
            $seen = Get-RowCount $Table
            $exitedEarly = $p.HasExited
            if (-not $exitedEarly) { & kill -INT $p.Id }
            if (-not $p.WaitForExit(60000)) { $p.Kill($true); throw "pwsh did not end after SIGINT: $Command" }
            [pscustomobject]@{ Seen = $seen; ExitedEarly = $exitedEarly; ExitCode = $p.ExitCode; Output = $out.Result; Error = $err.Result; Rows = Get-RowCount $Table }
        }
    }

    It 'Measure-BatchProfile -Save: the rows saved stay, the exit code is 130 and the text says so' {
        $table = Join-Path (New-ScratchFolder 'sigm') 'perf.json'
        $sizes = (1..40) -join ','
        $r = Test-Interrupt -Table $table -WaitForRows 3 -Command "Import-Module '$manifest'; Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize $sizes -Repeat 400 -Warmup 0 -NoRefine -Save -Path '$table' | Out-Null; 'finished'"
        $r.ExitedEarly | Should -BeFalse -Because 'the profile must still be running when interrupted'
        $r.ExitCode | Should -Be 130
        $r.Error | Should -BeLike '*Measure-BatchProfile was interrupted (Ctrl+C)*saved in*'
        $r.Output | Should -Not -BeLike '*finished*'
        $r.Rows | Should -BeGreaterOrEqual $r.Seen
        $r.Rows | Should -BeLessThan 40
        @(Get-PerfTable -Path $table -Model tinynet).Count | Should -Be $r.Rows
    }

    It 'Invoke-HeteroInference auto-profiling: the rows measured so far stay in the table' {
        $table = Join-Path (New-ScratchFolder 'sigi') 'perf.json'
        $r = Test-Interrupt -Table $table -WaitForRows 3 -Command "Import-Module '$manifest'; Invoke-HeteroInference -Model mobilenet -Unit cpu -BatchSize 64 -Path '$table' | Out-Null; 'finished'"
        $r.ExitedEarly | Should -BeFalse -Because 'the profiling must still be running when interrupted'
        $r.ExitCode | Should -Be 130
        $r.Error | Should -BeLike '*Invoke-HeteroInference was interrupted (Ctrl+C)*saved in the perf table*'
        $r.Rows | Should -BeGreaterOrEqual ([Math]::Max(3, $r.Seen))
        @(Get-PerfTable -Path $table -Model mobilenet).Count | Should -Be $r.Rows
    }
}
