# Helpers of HelpExamples.Tests.ps1: read the examples out of docs/help/*.md, prepare the folder they run in,
# and run one in a fresh runspace.
Set-StrictMode -Version Latest

function Get-HelpExample {
    # The examples of one markdown help file: cmdlet, title, code (sample output left out) and the reason of a
    # '# Needs <what>' line (null when the example can run here).
    param([Parameter(Mandatory)] [string] $Path)
    $text = (Get-Content -LiteralPath $Path -Raw) -replace "`r", ''
    $section = [regex]::Match($text, '(?s)\n## EXAMPLES\n(.*?)\n## PARAMETERS').Groups[1].Value
    foreach ($m in [regex]::Matches($section, '(?s)### (?<title>[^\n]+)\n+```[^\n]*\n(?<code>.*?)\n```')) {
        $block = $m.Groups['code'].Value
        # Paragraphs split at blank lines, except inside here-strings.
        $paragraphs = [Collections.Generic.List[string]]::new()
        $current = [Collections.Generic.List[string]]::new()
        $inHereString = $false
        foreach ($line in $block -split "`n") {
            if ($inHereString) {
                $current.Add($line)
                if ($line -match '^["'']@') { $inHereString = $false }
                continue
            }
            if ($line -match '@["'']\s*$') { $inHereString = $true }
            if ($line.Trim() -eq '') {
                if ($current.Count) { $paragraphs.Add($current -join "`n"); $current.Clear() }
                continue
            }
            $current.Add($line)
        }
        if ($current.Count) { $paragraphs.Add($current -join "`n") }
        $needs = [regex]::Match($block, '(?m)^#\s*Needs\s+(?<what>.+)$')
        [pscustomobject]@{
            Cmdlet = [IO.Path]::GetFileNameWithoutExtension($Path)
            Title  = $m.Groups['title'].Value.Trim()
            Code   = @($paragraphs | Where-Object { Test-ExampleCode $_ }) -join "`n`n"
            Skip   = if ($needs.Success) { $needs.Groups['what'].Value.Trim() } else { $null }
        }
    }
}

function Test-ExampleCode {
    # True when a paragraph starts with something PowerShell runs: a command, keyword, variable, comment,
    # string, bracket or operator; false for sample output ("Plan: ...", a table header, "What if: ...").
    param([string] $Paragraph)
    $first = ($Paragraph -split "`n")[0].Trim()
    if ($first -match '^(#|\$|@|\(|\[|''|"|,|\{|\}|&|\.\s)') { return $true }
    $tokens = $null; $errors = $null
    # A list of numbers piped on ("8, 16, 32 | ForEach-Object ...") is code; a row of a table ("1  11.42") does not parse.
    if ($first -match '^\d') {
        $null = [System.Management.Automation.Language.Parser]::ParseInput($Paragraph, [ref] $tokens, [ref] $errors)
        return $errors.Count -eq 0
    }
    $null = [System.Management.Automation.Language.Parser]::ParseInput($first, [ref] $tokens, [ref] $errors)
    $word = $tokens[0]
    if ($word.TokenFlags -band [System.Management.Automation.Language.TokenFlags]::Keyword) { return $true }
    [bool](Get-Command -Name $word.Text -ErrorAction Ignore)
}

function Initialize-ExampleFolder {
    # The files the examples read, and a default table with rows for the models they plan and run on this
    # machine's CPU (whole and in two slices), so nothing needs a long profile.
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $TablePath)
    $cpu = Get-ComputeUnit -Id cpu
    $threads = [Environment]::ProcessorCount
    $half = [Math]::Max(1, [int][Math]::Floor($threads / 2))
    $grid = 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257
    # ms per item on one thread, roughly; the options a run on the whole CPU and on two slices uses; the
    # model's hash, so rows an example measures (-Save) replace these instead of standing beside them.
    # inception_v3 has rows for 8 threads only (Split-Batch -BackendOptions 'threads=8').
    $models = @(
        @{ Model = 'resnet-50'; PerItem = 60.0; Keys = @(@{ Unit = 'cpu'; Threads = $threads }, @{ Unit = 'cpu:0'; Threads = $half }, @{ Unit = 'cpu:1'; Threads = $half }) }
        @{ Model = 'mobilenet'; PerItem = 9.0; Keys = @(@{ Unit = 'cpu'; Threads = $threads }, @{ Unit = 'cpu:0'; Threads = $half }, @{ Unit = 'cpu:1'; Threads = $half }) }
        @{ Model = 'tinynet'; PerItem = 0.05; Keys = @(@{ Unit = 'cpu'; Threads = $threads }, @{ Unit = 'cpu:0'; Threads = $half }, @{ Unit = 'cpu:1'; Threads = $half }) }
        @{ Model = 'inception_v3'; PerItem = 75.0; Keys = @(@{ Unit = 'cpu'; Threads = 8 }) }
    )
    $rows = foreach ($m in $models) {
        $hash = (Get-HeteroModel -Model $m.Model).Hash
        foreach ($k in $m.Keys) {
            foreach ($b in $grid) {
                [pscustomobject]@{ Model = $m.Model; ModelHash = $hash; MachineName = $cpu.MachineName; Unit = $k.Unit; DeviceName = $cpu.Name; Backend = $cpu.Backend; BackendOptions = "threads=$($k.Threads)"
                    BatchSize = $b; ExecMs = 0.2 + $m.PerItem * $b / [Math]::Min($k.Threads, $threads); IoMs = 0.001 * $b; Repeats = 5 }
            }
        }
    }
    $rows | Set-PerfTable -Path $TablePath

    # Another machine's table as CSV (Export-PerfChart, Split-Batch), and the spreadsheet of Set-PerfTable.
    $node7 = foreach ($b in $grid) {
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'node7'; Unit = 'cpu'; BatchSize = $b; ExecMs = 2 + 20.0 * $b; IoMs = 0 }
        [pscustomobject]@{ Model = 'resnet-50'; MachineName = 'node7'; Unit = 'gpu0'; BatchSize = $b; ExecMs = 3 + 0.9 * $b; IoMs = 0.1 * $b }
    }
    $node7 | Export-Csv -LiteralPath (Join-Path $Path 'node7-perf.csv') -NoTypeInformation
    Set-Content -LiteralPath (Join-Path $Path 'lab-a4000.csv') -Value @(
        '"Model","Unit","BatchSize","ExecMs","IoMs","MachineName"'
        '"resnet-50","gpu0","1","3.91","0.42","lab-a4000"'
        '"resnet-50","gpu0","32","38.70","4.95","lab-a4000"'
        '"resnet-50","cpu","1","21.30","0","lab-a4000"')
    # A cluster table with the rows of a retired GPU (Set-PerfTable -Remove), and two nodes' tables (Get-PerfTable).
    $node7 | Where-Object Unit -eq 'gpu0' | Select-Object * | ForEach-Object { $_.Unit = 'gpu1'; $_ } | Set-PerfTable -Path (Join-Path $Path 'cluster-table.json')
    foreach ($node in 'node1', 'node2') {
        $node7 | Where-Object BatchSize -eq 64 | Select-Object * | ForEach-Object { $_.MachineName = $node; $_ } |
            Set-PerfTable -Path (Join-Path $Path "nodes/$node/perftable.json")
    }
    # Your own ONNX files (Get-HeteroModel), and a folder of pictures (Invoke-HeteroInference -InputPath).
    $onnx = New-Item -ItemType Directory -Path (Join-Path $Path 'onnx')
    Copy-Item -LiteralPath (Get-HeteroModel -Model tinynet).Path -Destination (Join-Path $onnx 'small-classifier.onnx')
    $images = New-Item -ItemType Directory -Path (Join-Path $Path 'images')
    foreach ($name in 'cat', 'dog') {
        $null = Get-PerfTable -Path $TablePath -Model tinynet -Unit cpu -MachineName $cpu.MachineName |
            Where-Object BackendOptions -eq "threads=$threads" |
            Export-PerfChart -Path (Join-Path $images "$name.png") -Width 240 -Height 200 -Title $name
    }
}

function Invoke-HelpExample {
    # Runs an example's code in a fresh runspace with the module imported, in -WorkingDirectory, with
    # $ErrorActionPreference = 'Stop'; formats its output as a console would. Returns {Output, Errors}.
    param([Parameter(Mandatory)] [string] $Code, [Parameter(Mandatory)] [string] $WorkingDirectory,
          [Parameter(Mandatory)] [string] $ModuleManifest, [int] $TimeoutSeconds = 300)
    $iss = [initialsessionstate]::CreateDefault2()
    $iss.ImportPSModule([string[]] @($ModuleManifest))
    $runspace = [runspacefactory]::CreateRunspace($iss)
    $runspace.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $runspace
    $errors = [Collections.Generic.List[string]]::new()
    $output = ''
    try {
        $prelude = @"
Set-Location -LiteralPath '$($WorkingDirectory -replace "'", "''")'
`$ErrorActionPreference = 'Stop'
`$PSDefaultParameterValues = @{ 'Measure-BatchProfile:MaxBatchSize' = 4; 'Measure-BatchProfile:Repeat' = 1; 'Measure-BatchProfile:Warmup' = 0; 'Measure-BatchProfile:NoRefine' = `$true }
"@
        $null = $ps.AddScript($prelude + "`n& {`n" + $Code + "`n} | Out-String -Width 120")
        $async = $ps.BeginInvoke()
        if (-not $async.AsyncWaitHandle.WaitOne($TimeoutSeconds * 1000)) {
            $ps.Stop()
            $errors.Add("timed out after $TimeoutSeconds s")
        }
        else {
            try { $output = (@($ps.EndInvoke($async)) -join '') }
            catch {
                $e = $_.Exception
                while ($e.InnerException -and $e -is [System.Management.Automation.MethodInvocationException]) { $e = $e.InnerException }
                $id = if ($e -is [System.Management.Automation.IContainsErrorRecord]) { $e.ErrorRecord.FullyQualifiedErrorId + ': ' } else { '' }
                $errors.Add($id + $e.Message)
            }
        }
        foreach ($r in $ps.Streams.Error) { $errors.Add("$($r.FullyQualifiedErrorId): $($r.Exception.Message)") }
    }
    finally {
        $ps.Dispose()
        $runspace.Dispose()
    }
    [pscustomobject]@{ Output = $output; Errors = $errors.ToArray() }
}
