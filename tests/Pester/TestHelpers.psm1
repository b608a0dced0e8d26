# Shared by the Pester tests: where the staged module is, and how to start a fresh pwsh.
Set-StrictMode -Version Latest

function Get-TestModulePath {
    if (-not $env:HETEROBATCH_TEST_MODULE) { throw 'HETEROBATCH_TEST_MODULE is not set; run the tests through build.ps1 Test.' }
    $env:HETEROBATCH_TEST_MODULE
}

function Get-PwshInvocation {
    # Returns the executable and leading arguments that start the same pwsh that runs the tests.
    $hostPath = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { return , @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) }
    return , @($hostPath)
}

function Start-TestPwsh {
    # Starts a child pwsh (-NoProfile) running a script block's text; returns the Process.
    param([Parameter(Mandatory)] [string] $Command, [string] $WorkingDirectory = (Get-TestTempRoot),
          [switch] $RedirectOutput)
    $inv = Get-PwshInvocation
    $psi = [Diagnostics.ProcessStartInfo]::new($inv[0])
    foreach ($a in ($inv | Select-Object -Skip 1)) { $psi.ArgumentList.Add($a) }
    foreach ($a in @('-NoProfile', '-NonInteractive', '-Command', $Command)) { $psi.ArgumentList.Add($a) }
    $psi.WorkingDirectory = $WorkingDirectory
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = [bool]$RedirectOutput
    $psi.RedirectStandardError = [bool]$RedirectOutput
    [Diagnostics.Process]::Start($psi)
}

function Invoke-TestPwsh {
    # Runs a command in a fresh pwsh and returns {ExitCode, Output, Error}.
    param([Parameter(Mandatory)] [string] $Command, [string] $WorkingDirectory = (Get-TestTempRoot), [int] $TimeoutSeconds = 300)
    $p = Start-TestPwsh -Command $Command -WorkingDirectory $WorkingDirectory -RedirectOutput
    $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
    if (-not $p.WaitForExit($TimeoutSeconds * 1000)) { $p.Kill($true); throw "pwsh timed out after $TimeoutSeconds s: $Command" }
    [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out.Result; Error = $err.Result }
}

function Get-TestTempRoot {
    # The run's scratch root: Invoke-ModuleTests.ps1 makes it, points TMPDIR/TEMP at it (so child processes
    # and New-TemporaryFile land there too) and removes it when the run ends, whatever the outcome.
    if (-not $env:HETEROBATCH_TEST_TEMP) { throw 'HETEROBATCH_TEST_TEMP is not set; run the tests through build.ps1 Test.' }
    if (-not (Test-Path -LiteralPath $env:HETEROBATCH_TEST_TEMP)) { $null = New-Item -ItemType Directory -Path $env:HETEROBATCH_TEST_TEMP }
    $env:HETEROBATCH_TEST_TEMP
}

function New-TestFolder {
    # A fresh, empty folder under the run's scratch root.
    param([string] $Prefix = 'hb-')
    $dir = Join-Path (Get-TestTempRoot) ($Prefix + [Guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $dir
    $dir
}

function New-TestTablePath {
    # A fresh perf-table path in a folder of its own under the run's scratch root.
    param([string] $Name = 'perftable.json')
    Join-Path (New-TestFolder) $Name
}

function New-TestJpegFolder {
    # JPEGs of 60-260 px with a random background and circle, named img0000.jpg, ...; the same files for the same
    # seed, for the dataset tests and bench/stream-schedule.ps1. SkiaSharp must be loaded (the staged module's dll).
    param([string] $Folder, [int] $Count, [int] $Seed = 1)
    $null = New-Item -ItemType Directory -Path $Folder -Force
    for ($i = 0; $i -lt $Count; $i++) {
        $rng = [Random]::new($Seed * 7919 + $i)
        $bitmap = [SkiaSharp.SKBitmap]::new($rng.Next(60, 260), $rng.Next(60, 260))
        $canvas = [SkiaSharp.SKCanvas]::new($bitmap)
        $canvas.Clear([SkiaSharp.SKColor]::new([byte]$rng.Next(256), [byte]$rng.Next(256), [byte]$rng.Next(256)))
        $paint = [SkiaSharp.SKPaint]::new(); $paint.Color = [SkiaSharp.SKColor]::new([byte]$rng.Next(256), [byte]$rng.Next(256), [byte]$rng.Next(256))
        $canvas.DrawCircle($rng.Next(60), $rng.Next(60), $rng.Next(5, 50), $paint)
        $canvas.Dispose(); $paint.Dispose()
        $data = $bitmap.Encode([SkiaSharp.SKEncodedImageFormat]::Jpeg, 90)
        [IO.File]::WriteAllBytes((Join-Path $Folder ('img{0:D4}.jpg' -f $i)), $data.ToArray())
        $data.Dispose(); $bitmap.Dispose()
    }
    $Folder
}

Export-ModuleMember -Function Get-TestModulePath, Get-PwshInvocation, Start-TestPwsh, Invoke-TestPwsh, Get-TestTempRoot, New-TestFolder, New-TestTablePath, New-TestJpegFolder
