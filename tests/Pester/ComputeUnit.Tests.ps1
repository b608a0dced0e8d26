BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
}

Describe 'Get-ComputeUnit' {
    It 'lists the CPU as an available unit of this machine' {
        $cpu = Get-ComputeUnit -Id cpu
        $cpu.Id | Should -Be 'cpu'
        $cpu.Kind | Should -Be 'Cpu'
        $cpu.Available | Should -BeTrue
        $cpu.Name | Should -Not -BeNullOrEmpty
        $cpu.LogicalCores | Should -BeGreaterThan 0
        $cpu.PhysicalCores | Should -BeGreaterThan 0
        $cpu.MachineName | Should -Be ([Environment]::MachineName)
    }

    It 'lists GPUs without errors or warnings; a GPU is available exactly when it has no Reason' {
        $errs = $null; $warns = $null
        $gpus = @(Get-ComputeUnit -Kind Gpu -ErrorVariable errs -WarningVariable warns)
        @($errs).Count | Should -Be 0
        @($warns).Count | Should -Be 0
        foreach ($g in $gpus) {
            $g.Kind | Should -Be 'Gpu'
            $g.Id | Should -Not -BeNullOrEmpty
            $g.Available | Should -Be ([string]::IsNullOrEmpty($g.Reason)) -Because "$($g.Id) is Available=$($g.Available) with Reason '$($g.Reason)'"
        }
        @(Get-ComputeUnit -Kind Gpu -Available).Id | Should -Be @($gpus | Where-Object Available | ForEach-Object Id)
    }

    It 'lists no GPU on a Linux machine without an NVIDIA driver, and still lists the CPU' -Skip:(-not $IsLinux) {
        # With a driver present (/dev/nvidiactl) the GPUs are listed; the test above checks them.
        if (Test-Path /dev/nvidiactl) { Set-ItResult -Skipped -Because 'this machine has an NVIDIA driver'; return }
        @(Get-ComputeUnit -Kind Gpu | Where-Object Id -Match '^gpu\d+$').Count | Should -Be 0
        @(Get-ComputeUnit).Id | Should -Contain 'cpu'
    }

    It 'filters by kind and by wildcard id' {
        @(Get-ComputeUnit -Kind Cpu).Id | Should -Be @('cpu')
        (Get-ComputeUnit -Id 'c*').Id | Should -Contain 'cpu'
    }

    It 'reports an unknown id as an ObjectNotFound error with a stable ErrorId' {
        $err = $null
        $null = Get-ComputeUnit -Id gpu9 -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UnitNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -Match 'cpu'
    }

    It 'has a default table view' {
        $text = Get-ComputeUnit -Id cpu | Out-String
        $text | Should -Match 'Available'
        $text | Should -Match 'cpu'
    }

    It 'survives a JSON round trip with stable property names' {
        $copy = Get-ComputeUnit -Id cpu | ConvertTo-Json | ConvertFrom-Json
        $copy.Id | Should -Be 'cpu'
        $copy.Backend | Should -Not -BeNullOrEmpty
    }

    It 'completes unit ids for -Unit and -Id' {
        $r = TabExpansion2 -inputScript 'Get-ComputeUnit -Id c' -cursorColumn 'Get-ComputeUnit -Id c'.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'cpu'
        $line = 'Measure-BatchProfile -Model tinynet -Unit '
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'cpu'
    }
}
