BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
}
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $modulePath = Get-TestModulePath
    $manifestPath = Join-Path $modulePath 'HeteroBatch.psd1'
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
}

Describe 'Module manifest' {
    It 'is a valid manifest' {
        { Test-ModuleManifest -Path $manifestPath -ErrorAction Stop } | Should -Not -Throw
    }

    It 'has the version of the repository manifest, which the assemblies carry too' {
        $staged = Test-ModuleManifest -Path $manifestPath
        $source = Import-PowerShellDataFile (Join-Path $repoRoot 'HeteroBatch.psd1')
        $staged.Version.ToString() | Should -Be $source.ModuleVersion
        $asm = [Reflection.AssemblyName]::GetAssemblyName((Join-Path $modulePath 'HeteroBatch.PS.dll'))
        $asm.Version.ToString(3) | Should -Be $source.ModuleVersion
        $engine = [Reflection.AssemblyName]::GetAssemblyName((Join-Path $modulePath 'HeteroBatch.Engine.dll'))
        $engine.Version.ToString(3) | Should -Be $source.ModuleVersion
    }

    It 'exports exactly the cmdlets it declares' {
        $declared = (Import-PowerShellDataFile $manifestPath).CmdletsToExport | Sort-Object
        $result = Invoke-TestPwsh -Command "Import-Module '$manifestPath'; (Get-Command -Module HeteroBatch -CommandType Cmdlet).Name | Sort-Object"
        $result.ExitCode | Should -Be 0 -Because $result.Error
        $exported = $result.Output -split "`r?`n" | Where-Object { $_ }
        $exported | Should -Be $declared
    }

    It 'stages the format file, the MAML help and the ONNX Runtime native library' {
        Join-Path $modulePath 'HeteroBatch.Format.ps1xml' | Should -Exist
        Join-Path $modulePath 'en-US/HeteroBatch.PS.dll-Help.xml' | Should -Exist
        Join-Path $modulePath 'en-US/about_HeteroBatch.help.txt' | Should -Exist
        $native = if ($IsWindows) { 'onnxruntime.dll' } else { 'libonnxruntime.so' }
        Join-Path $modulePath $native | Should -Exist
        Join-Path $modulePath 'System.Management.Automation.dll' | Should -Not -Exist
    }

    It 'stages precompiled (ReadyToRun) engine, cmdlet and ONNX Runtime assemblies, and no other OS''s native libraries' {
        # A new pwsh (every scheduled job) runs these without waiting for the JIT: bench/cold-start.ps1.
        foreach ($name in 'HeteroBatch.Engine.dll', 'HeteroBatch.PS.dll', 'Microsoft.ML.OnnxRuntime.dll') {
            $stream = [IO.File]::OpenRead((Join-Path $modulePath $name))
            try {
                $pe = [Reflection.PortableExecutable.PEReader]::new($stream)
                $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size | Should -BeGreaterThan 0 -Because "$name should carry ReadyToRun code"
            }
            finally { $stream.Dispose() }
        }
        $foreign = if ($IsWindows) { Get-ChildItem $modulePath -Filter '*.so*' } else {
            Get-ChildItem $modulePath -Filter '*.dll' | Where-Object { try { $null = [Reflection.AssemblyName]::GetAssemblyName($_.FullName); $false } catch { $true } }
        }
        @($foreign).Name | Should -BeNullOrEmpty
    }

    It 'imports from any working directory and runs a model on the CPU there' {
        $dir = New-TestFolder -Prefix 'hb-cwd-'
        $cmd = "Import-Module '$manifestPath'; (Get-ComputeUnit -Id cpu).Id; (Get-HeteroModel -Name tinynet).Name"
        $result = Invoke-TestPwsh -Command $cmd -WorkingDirectory $dir
        $result.ExitCode | Should -Be 0 -Because $result.Error
        $result.Output | Should -Match 'cpu'
        $result.Output | Should -Match 'tinynet'
    }
}
