#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, stages, documents, tests and demonstrates the HeteroBatch module.
.DESCRIPTION
    Tasks:
      Build  stage an importable module under out/HeteroBatch (manifest, cmdlet and engine assemblies
             published for -Runtime with ReadyToRun code unless -NoReadyToRun, ONNX Runtime native
             libraries beside them, format file, MAML help in en-US/)
      Docs   compile docs/help/*.md (platyPS schema) into en-US/HeteroBatch.PS.dll-Help.xml
      Test   Build, then xUnit for the engine and Pester in a fresh `pwsh -NoProfile` against the
             staged module; ends with the line 'N passed, N failed, N skipped'
      Demo   Build, then the main job on the embedded default (zoo model mobilenet, batch 32, all
             available units): Get-ComputeUnit -> auto-profile -> Split-Batch -> Invoke-HeteroInference
      Bench  Build the benchmarks under bench/ (each one's README says how to run it)
      Clean  remove out/ and every bin/ and obj/
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Docs', 'Test', 'Demo', 'Bench', 'Clean')]
    [string[]] $Task = @('Build'),
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',
    # Runtime whose ONNX Runtime native libraries are staged; defaults to this machine's.
    [ValidateSet('linux-x64', 'win-x64')]
    [string] $Runtime = $(if ($IsWindows) { 'win-x64' } else { 'linux-x64' }),
    # Pester test files or folders to run (default: all of tests/Pester).
    [string[]] $PesterPath = @(),
    # Skip the xUnit engine tests (Test task).
    [switch] $SkipEngineTests,
    # Skip the Pester module tests (Test task).
    [switch] $SkipPester,
    # Stage plain IL assemblies, without ReadyToRun code (where the SDK's crossgen2 package for this
    # runtime cannot be restored).
    [switch] $NoReadyToRun
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$OutRoot = Join-Path $Root 'out'
$Staged = Join-Path $OutRoot 'HeteroBatch'

function Invoke-Native {
    param([Parameter(Mandatory)] [string] $FilePath, [string[]] $ArgumentList = @())
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE." }
}

# The pwsh running this script (the pinned dotnet tool, or an installed pwsh) starts the fresh test process.
function Get-PwshCommand {
    $hostPath = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { return @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($hostPath)
}

function Get-NuGetPackagesFolder {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = (& dotnet nuget locals global-packages --list) -join "`n"
    if ($line -match 'global-packages:\s*(?<p>.+)$') { return $Matches.p.Trim() }
    return (Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages')
}

function Invoke-Docs {
    Write-Host '== Docs: docs/help -> en-US MAML' -ForegroundColor Cyan
    $target = Join-Path $OutRoot 'help/en-US'
    if (Get-Module -ListAvailable -Name platyPS) {
        Import-Module platyPS
        $null = New-ExternalHelp -Path (Join-Path $Root 'docs/help') -OutputPath $target -Force
    } else {
        Import-Module (Join-Path $Root 'build/HelpCompiler.psm1') -Force
        $null = Build-ExternalHelp -SourceFolder (Join-Path $Root 'docs/help') -OutputFolder $target
    }
    Copy-Item (Join-Path $Root 'docs/help/about_HeteroBatch.help.txt') $target -Force
}

function Invoke-Build {
    Invoke-Docs
    Write-Host "== Build: $Configuration, $Runtime" -ForegroundColor Cyan
    Invoke-Native dotnet @('restore', (Join-Path $Root 'tools/Tools.proj'), '--nologo', '-v', 'q')
    # Published for the runtime with ReadyToRun code: a new pwsh (every scheduled job) and each first call
    # of a code path then run precompiled code instead of waiting for the JIT (bench/results/cold-start-r2r-*).
    # The IL stays in the assemblies, so the module still runs where the precompiled code does not apply.
    $publish = Join-Path $OutRoot "publish/$Runtime"
    if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/HeteroBatch.PS/HeteroBatch.PS.csproj'), '-c', $Configuration, '-r', $Runtime,
        '--self-contained', 'false', "-p:PublishReadyToRun=$(if ($NoReadyToRun) { 'false' } else { 'true' })", '-o', $publish,
        '--nologo', '-v', 'q', '-clp:ErrorsOnly')

    if (Test-Path $Staged) { Remove-Item $Staged -Recurse -Force }
    $null = New-Item -ItemType Directory -Force -Path $Staged
    # Managed assemblies (except PowerShell's own reference assembly: the host provides it), the deps file,
    # and ONNX Runtime's and Skia's native libraries for this runtime beside them: the loader searches the
    # assembly's own folder, so the module works when imported from any working directory. Left out: the
    # other OS's native files that some packages put in the publish output, and import libraries (.lib).
    $otherOsNative = if ($Runtime -like 'win-*') { '*.so', '*.so.*', '*.dylib' } else { '*.dll' }
    foreach ($file in Get-ChildItem $publish -File) {
        if ($file.Name -eq 'System.Management.Automation.dll' -or $file.Extension -in '.pdb', '.xml', '.lib') { continue }
        $isManaged = $file.Extension -eq '.dll' -and $(try { $null = [Reflection.AssemblyName]::GetAssemblyName($file.FullName); $true } catch { $false })
        if (-not $isManaged -and @($otherOsNative | Where-Object { $file.Name -like $_ })) { continue }
        Copy-Item $file.FullName $Staged
    }
    Copy-Item (Join-Path $Root 'HeteroBatch.psd1'), (Join-Path $Root 'src/HeteroBatch.PS/HeteroBatch.Format.ps1xml') $Staged
    Copy-Item (Join-Path $OutRoot 'help/en-US') (Join-Path $Staged 'en-US') -Recurse
    Write-Host "Staged $Staged" -ForegroundColor Green
}

function Get-TrxCounts([string] $Path) {
    [xml] $trx = Get-Content -LiteralPath $Path -Raw
    $c = $trx.TestRun.ResultSummary.Counters
    $failed = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
    # By XPath: a result without an Output element would stop property access under StrictMode.
    $failures = @($trx.SelectNodes("//*[local-name()='UnitTestResult']") | Where-Object { $_.GetAttribute('outcome') -notin 'Passed', 'NotExecuted' } |
        ForEach-Object {
            $message = $_.SelectSingleNode("*[local-name()='Output']/*[local-name()='ErrorInfo']/*[local-name()='Message']")
            if ($message) { "$($_.GetAttribute('testName')): $(($message.InnerText -split "`n")[0])" } else { $_.GetAttribute('testName') }
        })
    # Skipped tests appear in the total only, not in a counter of their own.
    [pscustomobject]@{ Passed = [int]$c.passed; Failed = $failed; Skipped = [int]$c.total - [int]$c.passed - $failed; Failures = $failures }
}

function Invoke-Test {
    Invoke-Build
    $results = [System.Collections.Generic.List[object]]::new()
    $resultsDir = Join-Path $OutRoot 'test-results'
    if (Test-Path $resultsDir) { Remove-Item $resultsDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Force -Path $resultsDir

    if (-not $SkipEngineTests) {
        Write-Host '== Test: xUnit (engine)' -ForegroundColor Cyan
        $trx = Join-Path $resultsDir 'engine.trx'
        & dotnet test (Join-Path $Root 'tests/Engine.Tests/HeteroBatch.Engine.Tests.csproj') -c $Configuration --nologo `
            --logger "trx;LogFileName=$trx" --logger 'console;verbosity=normal'
        if (-not (Test-Path $trx)) { throw "xUnit produced no results ($trx); exit code $LASTEXITCODE." }
        $results.Add((Get-TrxCounts $trx))
    }

    if (-not $SkipPester) {
        Write-Host '== Test: Pester (staged module, fresh pwsh -NoProfile)' -ForegroundColor Cyan
        $pester = Join-Path (Get-NuGetPackagesFolder) 'pester/5.7.1/tools/Pester.psd1'
        if (-not (Test-Path $pester)) { throw "Pester 5.7.1 not found at $pester; run 'dotnet restore tools/Tools.proj'." }
        $summary = Join-Path $resultsDir 'pester.json'
        # A comma list arrives as one string when build.ps1 is started with -File from another shell.
        $paths = if ($PesterPath) { @($PesterPath | ForEach-Object { $_ -split ',' } | Where-Object { $_ }) } else { @(Join-Path $Root 'tests/Pester') }
        $pwsh = @(Get-PwshCommand)
        $pwshArgs = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'tests/Pester/Invoke-ModuleTests.ps1'),
            '-PesterManifest', $pester, '-ModulePath', $Staged, '-SummaryPath', $summary, '-ResultsDirectory', $resultsDir, '-TestPath', ($paths -join ','))
        & $pwsh[0] @pwshArgs
        if (-not (Test-Path $summary)) { throw "Pester produced no summary ($summary); exit code $LASTEXITCODE." }
        $results.Add((Get-Content $summary -Raw | ConvertFrom-Json))
    }

    $passed = ($results | Measure-Object Passed -Sum).Sum
    $failed = ($results | Measure-Object Failed -Sum).Sum
    $skipped = ($results | Measure-Object Skipped -Sum).Sum
    Write-Host ''
    # Failures again at the very end: a CI log is often read from its tail only.
    foreach ($f in @($results | ForEach-Object { $_.Failures } | Where-Object { $_ })) { Write-Host "FAILED $f" -ForegroundColor Red }
    # The closing line CI reads.
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    Write-Host '== Demo: the main job on the embedded default (mobilenet, batch 32, all available units)' -ForegroundColor Cyan
    $pwsh = @(Get-PwshCommand)
    $pwshArgs = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'examples/Demo.ps1'), '-ModulePath', $Staged)
    & $pwsh[0] @pwshArgs
    if ($LASTEXITCODE -ne 0) { throw "Demo failed with exit code $LASTEXITCODE." }
}

function Invoke-Bench {
    Get-ChildItem (Join-Path $Root 'bench') -Filter '*.csproj' -Recurse | ForEach-Object {
        Invoke-Native dotnet @('build', $_.FullName, '-c', 'Release', '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    }
}

function Invoke-Clean {
    if (Test-Path $OutRoot) { Remove-Item $OutRoot -Recurse -Force }
    Get-ChildItem $Root -Directory -Recurse -Include 'bin', 'obj' |
        Where-Object FullName -notmatch '[\\/]\.git[\\/]' | Remove-Item -Recurse -Force -ErrorAction SilentlyContinue
}

Push-Location $Root
try {
    foreach ($t in $Task) { & "Invoke-$t" }
} finally {
    Pop-Location
}
