<#
.SYNOPSIS
    Runs the Pester tests against the staged module in this (fresh, -NoProfile) process and writes a
    JSON summary {Passed, Failed, Skipped, Failures} for build.ps1 (Failures: name and first line of
    each failed test, so the end of a CI log says what failed).
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SummaryPath,
    [Parameter(Mandatory)] [string] $ResultsDirectory,
    # Comma-separated test files or folders.
    [Parameter(Mandatory)] [string] $TestPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force

# Tests find the staged module, the pwsh to start child processes with, and a model cache shared by
# the whole run (zoo models are generated once) through these variables.
$env:HETEROBATCH_TEST_MODULE = (Resolve-Path $ModulePath).Path
$env:HETEROBATCH_CACHE = Join-Path $ResultsDirectory '../test-model-cache'
$null = New-Item -ItemType Directory -Force -Path $env:HETEROBATCH_CACHE
# No test may touch the user's real table: each test sets its own -Path, and this catches any that forgets.
$env:HETEROBATCH_PERFTABLE = Join-Path $ResultsDirectory 'default-perftable.json'

# One scratch root for the whole run, removed at the end: every folder the tests make (New-TestFolder,
# New-TestTablePath) and every temp file of this process and its children (TMPDIR/TEMP point here) goes away.
$systemTemp = [IO.Path]::GetTempPath()
$env:HETEROBATCH_TEST_TEMP = Join-Path $systemTemp ('hb-pester-' + [Guid]::NewGuid().ToString('N'))
$null = New-Item -ItemType Directory -Path $env:HETEROBATCH_TEST_TEMP
if ($IsWindows) { $env:TEMP = $env:TMP = $env:HETEROBATCH_TEST_TEMP } else { $env:TMPDIR = $env:HETEROBATCH_TEST_TEMP }

$config = New-PesterConfiguration
$config.Run.Path = @($TestPath -split ',' | Where-Object { $_ })
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = Join-Path $ResultsDirectory 'pester.xml'
try {
    $result = Invoke-Pester -Configuration $config
}
finally {
    if ($IsWindows) { $env:TEMP = $env:TMP = $systemTemp.TrimEnd('\') } else { $env:TMPDIR = $systemTemp }
    Remove-Item -LiteralPath $env:HETEROBATCH_TEST_TEMP -Recurse -Force -ErrorAction SilentlyContinue
    if (Test-Path -LiteralPath $env:HETEROBATCH_TEST_TEMP) { Write-Warning "Could not remove the tests' scratch folder $env:HETEROBATCH_TEST_TEMP." }
}

# Container failures (a test file that does not even load) count as failures.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
function Format-Failure([string] $Name, $ErrorRecord) {
    $first = @($ErrorRecord)[0]
    if ($first) { "${Name}: $(($first.Exception.Message -split "`n")[0])" } else { $Name }
}
$failures = @(
    @($result.Failed) | ForEach-Object { Format-Failure $_.ExpandedPath $_.ErrorRecord }
    @($result.FailedBlocks) | ForEach-Object { Format-Failure "$($_.ExpandedPath) (block)" $_.ErrorRecord }
    @($result.FailedContainers) | ForEach-Object { Format-Failure "$($_.Item) (file)" $_.ErrorRecord })
[pscustomobject]@{ Passed = $result.PassedCount; Failed = $failed; Skipped = $result.SkippedCount; Failures = $failures } |
    ConvertTo-Json | Set-Content -LiteralPath $SummaryPath
exit ([int]($failed -gt 0))
