# Meta-tests over every cmdlet class (in the manner of platyPS v2's Cmdlet.Tests.ps1): design rules the
# module promises, checked by reflection and against the compiler's XML documentation.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $cmdlets = @(Get-Command -Module HeteroBatch -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $docXml = Get-ChildItem (Join-Path $repoRoot 'src/HeteroBatch.PS/bin') -Recurse -Filter 'HeteroBatch.PS.xml' |
        Sort-Object LastWriteTime -Descending | Select-Object -First 1
    [xml] $script:xmlDoc = Get-Content $docXml.FullName -Raw
    $approved = (Get-Verb).Verb
    $stateChanging = 'Set', 'Remove', 'New', 'Clear', 'Add', 'Update', 'Export', 'Save'
}

Describe 'Cmdlet <Name>' -ForEach $cmdlets {
    BeforeAll {
        $command = Get-Command $Name
        $type = $command.ImplementingType
    }

    It 'uses an approved verb' {
        $command.Verb | Should -BeIn $approved
    }

    It 'is a sealed class' {
        $type.IsSealed | Should -BeTrue
    }

    It 'declares [OutputType]' {
        $command.OutputType.Count | Should -BeGreaterThan 0
    }

    It 'supports ShouldProcess when it changes state' {
        # New-HeteroBatch only makes an object in memory (as New-Object and New-Guid do): no state to confirm.
        $inMemoryOnly = @('New-HeteroBatch')
        if (($command.Verb -in $stateChanging -and $Name -notin $inMemoryOnly) -or $command.Parameters.ContainsKey('WhatIf')) {
            $command.Parameters.Keys | Should -Contain 'WhatIf'
            $command.Parameters.Keys | Should -Contain 'Confirm'
        }
    }

    It 'has a doc comment on every parameter property' {
        $props = $type.GetProperties() | Where-Object { $_.GetCustomAttributes([System.Management.Automation.ParameterAttribute], $true) }
        foreach ($p in $props) {
            $member = $xmlDoc.doc.members.member | Where-Object name -eq "P:$($type.FullName).$($p.Name)"
            $member | Should -Not -BeNullOrEmpty -Because "$Name -$($p.Name) needs a /// comment"
            $member.summary.Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'offers argument completion for -Model and -Unit' {
        foreach ($pn in 'Model', 'Unit') {
            if ($command.Parameters.ContainsKey($pn)) {
                $prop = $type.GetProperty($pn)
                $prop.GetCustomAttributes([System.Management.Automation.ArgumentCompleterAttribute], $true) |
                    Should -Not -BeNullOrEmpty -Because "$Name -$pn completes"
            }
        }
    }

    It 'binds pipeline input by property name' {
        $byName = $command.Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.ValueFromPipelineByPropertyName } }
        $byValue = $command.Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.ValueFromPipeline } }
        (@($byName).Count + @($byValue).Count) | Should -BeGreaterThan 0
    }
}
