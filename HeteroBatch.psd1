@{
    # The one place the module version is defined (Directory.Build.props reads it for the assemblies).
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0d7c1e-6f3a-4f52-9a63-2c8e1d7b4a90'
    RootModule           = 'HeteroBatch.PS.dll'
    Author               = 'HeteroBatch contributors'
    CompanyName          = 'HeteroBatch'
    Copyright            = '(c) HeteroBatch contributors. MIT License.'
    Description          = 'Runs one deep-learning inference batch on all compute units of a machine (CPU, CUDA GPUs) and across machines: profiles each unit, plans the optimal split from a performance table, and runs the pieces in parallel with outputs in order.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('HeteroBatch.Format.ps1xml')
    CmdletsToExport      = @(
        'Get-ComputeUnit'
        'Get-HeteroModel'
        'Measure-BatchProfile'
        'Get-PerfTable'
        'Set-PerfTable'
        'Split-Batch'
        'Invoke-HeteroInference'
        'Export-PerfChart'
        'New-HeteroBatch'
        'Invoke-HeteroDataset'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('inference', 'onnx', 'onnxruntime', 'gpu', 'cuda', 'heterogeneous', 'batch', 'Linux', 'Windows')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
