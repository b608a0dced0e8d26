BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $scratch = New-TestFolder -Prefix 'hb-model-'
}

Describe 'Get-HeteroModel' {
    It 'lists the zoo: the paper''s ten networks and tinynet' {
        $names = (Get-HeteroModel -ListAvailable).Name
        foreach ($n in 'mobilenet', 'squeezenet_v1.0', 'squeezenet_v1.1', 'resnet-18', 'resnet-34', 'resnet-50', 'inception_v3', 'vgg-16', 'vgg-19', 'densenet-121', 'tinynet') {
            $names | Should -Contain $n
        }
    }

    It 'resolves a zoo name to a model with an identity hash and shapes' {
        $m = Get-HeteroModel -Model tinynet
        $m.Name | Should -Be 'tinynet'
        $m.Hash | Should -Match '^[0-9a-f]{64}$'
        $m.InputItemShape | Should -Be @(3, 32, 32)
        $m.OutputItemShape | Should -Be @(10)
        Test-Path $m.Path | Should -BeTrue
        (Get-FileHash $m.Path -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $m.Hash
    }

    It 'resolves an ONNX path' {
        $zoo = Get-HeteroModel -Model tinynet
        $copy = Join-Path $scratch 'copy.onnx'
        Copy-Item $zoo.Path $copy
        $m = Get-HeteroModel -Model $copy
        $m.Source | Should -Be 'file'
        $m.Hash | Should -Be $zoo.Hash
    }

    It 'reports a file that is not ONNX as InvalidData (ModelInvalid)' {
        $bad = Join-Path $scratch 'bad.onnx'
        Set-Content -Path $bad -Value 'this is not a model'
        $err = { Get-HeteroModel -Model $bad -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ModelInvalid*'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'reports an unknown name as ObjectNotFound (ModelNotFound)' {
        $err = { Get-HeteroModel -Model no-such-net -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ModelNotFound*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'completes -Model with zoo names' {
        $line = 'Split-Batch -Model resn'
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'resnet-50'
    }
}
