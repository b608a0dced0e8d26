# Invoke-HeteroDataset (issue 12): a dataset streamed through the units, against the staged module on the CPU
# with the zoo's tinynet and mobilenet; Ctrl+C is a real SIGINT to a child pwsh.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:manifest = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
    Import-Module $manifest -Force
    Add-Type -Path (Join-Path (Get-TestModulePath) 'SkiaSharp.dll')

    function Get-NpyRows([string] $Path) {
        if (-not (Test-Path $Path)) { return 0 }
        try { [HeteroBatch.Engine.Inputs.NpyFile]::ReadHeader($Path).Shape[0] } catch { -1 }
    }
    $script:images = New-TestJpegFolder (Join-Path (New-TestFolder) 'images') 40
    $script:table = New-TestTablePath
}

Describe 'Invoke-HeteroDataset' {
    It 'writes one object per item in input order, and | Export-Csv takes them as they come' {
        $csv = Join-Path (New-TestFolder) 'top.csv'
        Get-ChildItem $images -Filter *.jpg | Invoke-HeteroDataset tinynet -Unit cpu -BatchSize 8 -Top 3 -Path $table -SummaryVariable summary |
            Export-Csv $csv -NoTypeInformation
        $rows = @(Import-Csv $csv)
        $rows.Count | Should -Be 40
        ($rows.Index | ForEach-Object { [int]$_ }) | Should -Be (0..39)
        $rows[5].Path | Should -Be (Join-Path $images 'img0005.jpg')
        @($rows[5].TopClasses -split ' ').Count | Should -Be 3
        [double]$rows[5].Score | Should -BeGreaterThan 0
        $summary.Items | Should -Be 40
        $summary.Batches | Should -Be 5
        $summary.PeakBuffersInUse | Should -BeLessOrEqual $summary.BatchesInFlight
        $summary.UnitShares | Should -BeLike 'cpu 100%*'
        # The default view of an item fits 120 columns.
        $text = Invoke-HeteroDataset tinynet $images -Unit cpu -BatchSize 8 -Top 5 -Path $table | Select-Object -First 3 | Out-String -Width 120
        $text | Should -BeLike '*Index*Class*Score*TopClasses*File*img0000.jpg*'
    }

    It 'warns about bad items, records them, and goes on' {
        $dir = New-TestFolder
        Copy-Item (Join-Path $images 'img000[0-9].jpg') $dir
        Set-Content (Join-Path $dir 'img0004.jpg') 'not a jpeg'
        Set-Content (Join-Path $dir 'img0007.txt') 'notes'   # sorts between img0007.jpg and img0008.jpg
        $out = Join-Path (New-TestFolder) 'out.npy'
        $s = Invoke-HeteroDataset tinynet $dir -Unit cpu -BatchSize 4 -OutputPath $out -Path $table -WarningVariable warned -WarningAction SilentlyContinue
        $s.Items | Should -Be 11
        $s.BadItems | Should -Be 2
        $s.Bad[0].Index | Should -Be 4
        $s.Bad[0].ErrorId | Should -Be 'ImageDecodeFailed'
        $s.Bad[1].Index | Should -Be 8
        $s.Bad[1].ErrorId | Should -Be 'UnsupportedInputType'
        @($warned).Count | Should -Be 2
        "$($warned[0])" | Should -BeLike "*img0004.jpg*ImageDecodeFailed*"
        "$($warned[1])" | Should -BeLike "*img0007.txt*UnsupportedInputType*"
        $npy = [HeteroBatch.Engine.Inputs.NpyFile]::Read($out)
        $npy.Item2 | Should -Be @(11, 10)
        [float]::IsNaN($npy.Item1[40]) | Should -BeTrue
        [float]::IsNaN($npy.Item1[80]) | Should -BeTrue
        [float]::IsNaN($npy.Item1[30]) | Should -BeFalse
        [float]::IsNaN($npy.Item1[90]) | Should -BeFalse
    }

    It 'a -Resume onto another model''s output fails with ResumeMismatch and a hint' {
        $dir = New-TestFolder
        $out = Join-Path $dir 'other.npy'
        [HeteroBatch.Engine.Inputs.NpyFile]::Write($out, [float[]]::new(12), [int[]](3, 4))
        $err = $null
        try { Invoke-HeteroDataset tinynet $images -Unit cpu -OutputPath $out -Resume -Path $table } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ResumeMismatch*'
        "$err" | Should -BeLike '*leave out -Resume*'
    }
}

Describe 'Invoke-HeteroDataset -Schedule Pull' {
    It 'writes the same rows as PerBatch, emits items in input order, and keeps at most BatchesInFlight buffers' {
        $dir = New-TestFolder
        $data = New-TestJpegFolder (Join-Path $dir 'data') 70 -Seed 3
        $common = @{ Unit = 'cpu:0', 'cpu:1'; BatchSize = 8; BatchesInFlight = 3; Path = $table }
        $perBatch = Join-Path $dir 'perbatch.npy'
        $p = Invoke-HeteroDataset tinynet $data -OutputPath $perBatch @common
        $p.Schedule | Should -Be 'PerBatch'
        $csv = Join-Path $dir 'pull.csv'
        $pulled = Join-Path $dir 'pull.npy'
        Invoke-HeteroDataset tinynet $data -Schedule Pull -OutputPath $pulled -Top 2 -SummaryVariable s @common | Export-Csv $csv -NoTypeInformation
        $s.Schedule | Should -Be 'Pull'
        $s.Items | Should -Be 70
        $s.Batches | Should -Be 9
        $s.PeakBuffersInUse | Should -BeLessOrEqual 3
        $s.SetupSeconds | Should -BeGreaterThan 0
        @($s.Units).Count | Should -Be 2
        ($s.Units | Measure-Object Items -Sum).Sum | Should -Be 70
        foreach ($u in $s.Units) { $u.ChunkSize | Should -BeGreaterThan 0; $u.Chunks | Should -BeGreaterThan 0 }
        $s.UnitShares | Should -BeLike '*chunks of*'
        $rows = @(Import-Csv $csv)
        ($rows.Index | ForEach-Object { [int]$_ }) | Should -Be (0..69)
        $rows[69].Path | Should -Be (Join-Path $data 'img0069.jpg')
        $a = [HeteroBatch.Engine.Inputs.NpyFile]::Read($perBatch)
        $b = [HeteroBatch.Engine.Inputs.NpyFile]::Read($pulled)
        $b.Item2 | Should -Be @(70, 10)
        $worst = 0.0
        for ($i = 0; $i -lt $a.Item1.Length; $i++) { $worst = [Math]::Max($worst, [Math]::Abs($a.Item1[$i] - $b.Item1[$i])) }
        $worst | Should -BeLessThan 1e-4
        # The summary view names the schedule.
        ($s | Out-String -Width 200) | Should -BeLike '*Schedule*Pull (setup*'
    }

    It 'warns about bad items, writes NaN rows for them, and goes on' {
        $dir = New-TestFolder
        Copy-Item (Join-Path $images 'img00[0-1][0-9].jpg') $dir
        Set-Content (Join-Path $dir 'img0004.jpg') 'not a jpeg'
        Set-Content (Join-Path $dir 'img0007.txt') 'notes'
        $out = Join-Path (New-TestFolder) 'out.npy'
        $s = Invoke-HeteroDataset tinynet $dir -Unit cpu:0, cpu:1 -Schedule Pull -BatchSize 4 -OutputPath $out -Path $table -WarningVariable warned -WarningAction SilentlyContinue
        $s.Items | Should -Be 21
        $s.BadItems | Should -Be 2
        $s.Bad.Index | Should -Be @(4, 8)
        @($warned).Count | Should -Be 2
        "$($warned[0])" | Should -BeLike "*img0004.jpg*ImageDecodeFailed*"
        $npy = [HeteroBatch.Engine.Inputs.NpyFile]::Read($out)
        $npy.Item2 | Should -Be @(21, 10)
        [float]::IsNaN($npy.Item1[40]) | Should -BeTrue
        [float]::IsNaN($npy.Item1[80]) | Should -BeTrue
        [float]::IsNaN($npy.Item1[90]) | Should -BeFalse
    }

    It 'fails with MissingProfile under -NoAutoProfile when the table lacks the units' {
        $err = $null
        try { Invoke-HeteroDataset tinynet $images -Unit cpu -Schedule Pull -NoAutoProfile -Path (New-TestTablePath) } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'MissingProfile*'
    }
}

Describe 'Ctrl+C in the middle of a stream' -Skip:(-not $IsLinux -or -not (Test-Path /usr/bin/env) -or -not (Get-Command kill -CommandType Application -ErrorAction SilentlyContinue)) {
    It 'leaves a valid .npy of the items done; -Resume completes it, equal to an uninterrupted run (<Schedule>)' -ForEach @(@{ Schedule = 'PerBatch' }, @{ Schedule = 'Pull' }) {
        $dir = New-TestFolder
        $data = New-TestJpegFolder (Join-Path $dir 'data') 160 -Seed 5
        $perf = Join-Path $dir 'perf.json'
        # Measured beforehand so that the child streams at once (one thread: the same key on every machine).
        Measure-BatchProfile -Model mobilenet -Unit cpu -BatchSize 1, 8 -ThreadCount 1 -Repeat 1 -Warmup 1 -NoRefine -Save -Path $perf | Out-Null
        $common = "-Unit cpu -BatchSize 8 -ThreadCount 1 -DecodeWorkers 1 -NoAutoProfile -Path '$perf' -Schedule $Schedule"
        $partial = Join-Path $dir 'partial.npy'
        $inv = Get-PwshInvocation
        $psi = [Diagnostics.ProcessStartInfo]::new('/usr/bin/env')
        foreach ($a in @('--default-signal=INT') + $inv + @('-NoProfile', '-NonInteractive', '-Command',
                "Import-Module '$manifest'; Invoke-HeteroDataset mobilenet '$data' -OutputPath '$partial' $common | Out-Null; 'finished'")) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $p = [Diagnostics.Process]::Start($psi)
        $out = $p.StandardOutput.ReadToEndAsync(); $errText = $p.StandardError.ReadToEndAsync()
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while ((Get-NpyRows $partial) -lt 48 -and -not $p.HasExited -and $clock.Elapsed.TotalSeconds -lt 240) { Start-Sleep -Milliseconds 20 }
        $exitedEarly = $p.HasExited
        if (-not $exitedEarly) { & kill -INT $p.Id }
        if (-not $p.WaitForExit(60000)) { $p.Kill($true); throw 'pwsh did not end after SIGINT' }
        $exitedEarly | Should -BeFalse -Because 'the stream must still be running when interrupted'
        $p.ExitCode | Should -Be 130
        $out.Result | Should -Not -BeLike '*finished*'
        $rows = Get-NpyRows $partial
        $rows | Should -BeGreaterOrEqual 48
        $rows | Should -BeLessThan 160
        ($rows % 8) | Should -Be 0
        $errText.Result | Should -BeLike "*Invoke-HeteroDataset was interrupted (Ctrl+C)*$rows items are done*-Resume*"
        $cut = [HeteroBatch.Engine.Inputs.NpyFile]::Read($partial)
        $cut.Item2 | Should -Be @($rows, 1000)

        $whole = Join-Path $dir 'whole.npy'
        $s = Invoke-Expression "Invoke-HeteroDataset mobilenet '$data' -OutputPath '$whole' $common"
        $s.Items | Should -Be 160
        $r = Invoke-Expression "Invoke-HeteroDataset mobilenet '$data' -OutputPath '$partial' -Resume $common"
        $r.ResumedFrom | Should -Be $rows
        $r.Items | Should -Be (160 - $rows)
        $r.OutputRows | Should -Be 160
        (Get-FileHash $partial).Hash | Should -Be (Get-FileHash $whole).Hash
    }
}
