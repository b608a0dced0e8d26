# Every exported cmdlet has real help: synopsis, description, every parameter described, examples with
# code and remarks, inputs and outputs; and the markdown in docs/help matches the cmdlets' parameters.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $cmdlets = @(Get-Command -Module HeteroBatch -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    $docs = Join-Path $PSScriptRoot '../../docs/help'
}

Describe 'Help for <Name>' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help $Name -Full
        $command = Get-Command $Name
    }

    It 'has a real synopsis (not the generated syntax line)' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match ([regex]::Escape($Name) + '\s+\[')
        $help.Synopsis.Length | Should -BeGreaterThan 20
    }

    It 'has a description' {
        ($help.description.Text -join ' ').Length | Should -BeGreaterThan 40
    }

    It 'describes every parameter' {
        $params = $command.Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($p in $params) {
            $ph = $help.parameters.parameter | Where-Object name -eq $p
            $ph | Should -Not -BeNullOrEmpty -Because "parameter -$p of $Name needs help"
            ($ph.description.Text -join ' ').Trim().Length | Should -BeGreaterThan 10 -Because "-$p of $Name needs a description"
        }
    }

    It 'documents no parameter the cmdlet does not have' {
        $params = $command.Parameters.Keys
        foreach ($ph in @($help.parameters.parameter)) { $params | Should -Contain $ph.name }
    }

    It 'has at least two examples, each with code and remarks' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $examples) {
            $e.code | Should -Not -BeNullOrEmpty
            ($e.remarks.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'names its inputs and outputs' {
        @($help.inputTypes.inputType).Count | Should -BeGreaterOrEqual 1
        @($help.returnValues.returnValue).Count | Should -BeGreaterOrEqual 1
    }

    It 'has a markdown source in docs/help' {
        Join-Path $docs "$Name.md" | Should -Exist
    }
}

Describe 'about_HeteroBatch' {
    It 'is found by Get-Help' {
        (Get-Help about_HeteroBatch | Out-String) | Should -Match 'HeteroBatch'
    }
}
