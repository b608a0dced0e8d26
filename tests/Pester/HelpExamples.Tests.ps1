# Every example in docs/help/*.md runs, so an example can never rot. Each one runs as written in a fresh runspace
# with the staged module, in a scratch folder that holds the files the examples read (./images, ./onnx,
# ./node7-perf.csv, ...), against a temporary default table seeded with rows for the zoo models they plan
# (HETEROBATCH_PERFTABLE). An example that needs what a CPU-only machine lacks says so in its first line,
# '# Needs <what>', and is skipped with that reason.
#
# Extraction: an example's code block holds commands, then sample output after a blank line. A paragraph is
# taken as output when its first word is nothing PowerShell can run (not a command, variable, keyword, comment,
# string or bracket): "Plan: ...", "Result: ...", a table header, "What if: ...", "VERBOSE: ...".
# To keep the run short, Measure-BatchProfile gets a small grid and few repeats through $PSDefaultParameterValues
# (an example's own parameters win).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    . (Join-Path $PSScriptRoot 'HelpExamples.ps1')
    $examples = @(Get-ChildItem (Join-Path $PSScriptRoot '../../docs/help') -Filter *.md | Sort-Object Name |
        ForEach-Object { Get-HelpExample -Path $_.FullName } |
        ForEach-Object { @{ Cmdlet = $_.Cmdlet; Title = $_.Title; Code = $_.Code; Skip = $_.Skip } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    . (Join-Path $PSScriptRoot 'HelpExamples.ps1')
    $manifest = Join-Path (Get-TestModulePath) 'HeteroBatch.psd1'
    $work = New-TestFolder -Prefix 'hb-examples-'
    $savedTable = $env:HETEROBATCH_PERFTABLE
    $env:HETEROBATCH_PERFTABLE = Join-Path $work 'default-perftable.json'
    Initialize-ExampleFolder -Path $work -TablePath $env:HETEROBATCH_PERFTABLE
    $all = @(Get-ChildItem (Join-Path $PSScriptRoot '../../docs/help') -Filter *.md | ForEach-Object { Get-HelpExample -Path $_.FullName })
}

AfterAll {
    $env:HETEROBATCH_PERFTABLE = $savedTable
}

Describe 'Help examples' {
    It 'finds the examples of every cmdlet, and the code of each' {
        $all.Count | Should -BeGreaterOrEqual 40
        # Every exported cmdlet has examples (a fixed count went stale when a cmdlet was added).
        $exported = @((Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../HeteroBatch.psd1')).CmdletsToExport)
        @($all.Cmdlet | Sort-Object -Unique) | Should -Be @($exported | Sort-Object)
        foreach ($e in $all) { $e.Code.Trim() | Should -Not -BeNullOrEmpty -Because "$($e.Cmdlet) $($e.Title) has code" }
    }

    It 'tells code from sample output' {
        $md = Join-Path $work 'Sample.md'
        Set-Content -LiteralPath $md -Value @'
# Sample

## EXAMPLES

### Example 1: Two commands, each with output
```powershell
Split-Batch -Model tinynet -BatchSize 4

Plan: tinynet x4 (Optimal), predicted 1.00 ms; best single unit cpu 1.00 ms; speedup 1.00x
Unit MachineName Items
---- ----------- -----

$text = @"
a here-string

with a blank line
"@

8, 16 | ForEach-Object { $_ }

1  11.42
2  19.85
```

Remarks.

### Example 2: Needs something
```powershell
# Needs a GPU (gpu0): skipped on CPU-only machines.
Get-ComputeUnit -Id gpu0
```

## PARAMETERS
'@
        $found = @(Get-HelpExample -Path $md)
        $found.Count | Should -Be 2
        $found[0].Code | Should -Be "Split-Batch -Model tinynet -BatchSize 4`n`n`$text = @`"`na here-string`n`nwith a blank line`n`"@`n`n8, 16 | ForEach-Object { `$_ }"
        $found[0].Skip | Should -BeNullOrEmpty
        $found[1].Skip | Should -Be 'a GPU (gpu0): skipped on CPU-only machines.'
    }

    It '<Cmdlet> <Title>' -ForEach $examples {
        if ($Skip) { Set-ItResult -Skipped -Because "it needs $Skip"; return }
        $outcome = Invoke-HelpExample -Code $Code -WorkingDirectory $work -ModuleManifest $manifest
        $outcome.Errors | Should -BeNullOrEmpty -Because "the example must run as written:`n$Code"
    }
}
