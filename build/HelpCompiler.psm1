# Compiles platyPS-schema markdown (docs/help/*.md, schema 2.0.0) into MAML, the XML that Get-Help reads
# for binary cmdlets. platyPS is not available on every machine that builds this module, so this
# compiler covers the subset of the schema the project's help uses; build.ps1 prefers platyPS's
# New-ExternalHelp when that module is installed.
Set-StrictMode -Version Latest

function ConvertFrom-HelpMarkdown {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param([Parameter(Mandatory, ValueFromPipelineByPropertyName)] [Alias('FullName')] [string] $Path)
    process {
        $lines = [System.IO.File]::ReadAllLines($Path)
        $help = [ordered]@{
            Name = ''; Synopsis = ''; Description = ''; SyntaxSets = [System.Collections.Generic.List[object]]::new()
            Examples = [System.Collections.Generic.List[object]]::new(); Parameters = [System.Collections.Generic.List[object]]::new()
            Inputs = [System.Collections.Generic.List[object]]::new(); Outputs = [System.Collections.Generic.List[object]]::new()
            Notes = ''; Links = [System.Collections.Generic.List[object]]::new(); Path = $Path
        }
        $i = 0
        # Skip the YAML front matter.
        if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
            $i = 1
            while ($i -lt $lines.Count -and $lines[$i] -ne '---') { $i++ }
            $i++
        }
        $section = ''; $sub = $null; $buffer = [System.Collections.Generic.List[string]]::new()
        $flush = {
            param($section, $sub, $text)
            $text = ($text -join "`n").Trim()
            switch ($section) {
                'SYNOPSIS'    { $help.Synopsis = $text }
                'DESCRIPTION' { $help.Description = $text }
                'NOTES'       { $help.Notes = $text }
                'EXAMPLES'    { if ($sub) { $help.Examples.Add((Split-Example $sub $text)) } }
                'PARAMETERS'  { if ($sub -and $sub -ne 'CommonParameters') { $help.Parameters.Add((Split-Parameter $sub $text)) } }
                'INPUTS'      { if ($sub) { $help.Inputs.Add([pscustomobject]@{ Type = $sub; Description = $text }) } }
                'OUTPUTS'     { if ($sub) { $help.Outputs.Add([pscustomobject]@{ Type = $sub; Description = $text }) } }
                'RELATED LINKS' {
                    foreach ($m in [regex]::Matches($text, '\[(?<t>[^\]]+)\]\((?<u>[^)]*)\)')) {
                        $help.Links.Add([pscustomobject]@{ Text = $m.Groups['t'].Value; Uri = $m.Groups['u'].Value })
                    }
                }
            }
        }
        $inFence = $false
        for (; $i -lt $lines.Count; $i++) {
            $line = $lines[$i]
            if ($line -match '^```') { $inFence = -not $inFence; $buffer.Add($line); continue }
            if (-not $inFence -and $line -match '^# (?<n>\S.*)$') { $help.Name = $Matches.n.Trim(); continue }
            if (-not $inFence -and $line -match '^## (?<s>.+)$') {
                & $flush $section $sub $buffer
                $section = $Matches.s.Trim().ToUpperInvariant(); $sub = $null; $buffer.Clear(); continue
            }
            if (-not $inFence -and $line -match '^### (?<s>.+)$') {
                & $flush $section $sub $buffer
                $sub = $Matches.s.Trim(); $buffer.Clear()
                if ($section -eq 'SYNTAX') {
                    $isDefault = $sub -match '\(Default\)'
                    $help.SyntaxSets.Add([pscustomobject]@{ Name = ($sub -replace '\s*\(Default\)', '').Trim(); IsDefault = $isDefault })
                }
                continue
            }
            $buffer.Add($line)
        }
        & $flush $section $sub $buffer
        [pscustomobject]$help
    }
}

function Split-Example([string] $title, [string] $text) {
    $m = [regex]::Match($text, '(?s)```[^\n]*\n(?<code>.*?)\n```(?<rest>.*)')
    if ($m.Success) {
        [pscustomobject]@{ Title = $title; Code = $m.Groups['code'].Value.TrimEnd(); Remarks = $m.Groups['rest'].Value.Trim() }
    } else {
        [pscustomobject]@{ Title = $title; Code = ''; Remarks = $text }
    }
}

function Split-Parameter([string] $heading, [string] $text) {
    # platyPS writes one ```yaml block per distinct set of attributes (e.g. Mandatory in one parameter
    # set, optional in another); every block is read, and each set keeps its own Required/Position.
    $blocks = [regex]::Matches($text, '(?s)```yaml\s*\n(?<yaml>.*?)\n```')
    $description = if ($blocks.Count -gt 0) { $text.Substring(0, $blocks[0].Index).Trim() } else { $text.Trim() }
    $perSet = [ordered]@{}
    $first = $null
    foreach ($b in $blocks) {
        $yaml = @{}
        foreach ($row in $b.Groups['yaml'].Value -split "`n") {
            if ($row -match '^(?<k>[^:]+):\s*(?<v>.*)$') { $yaml[$Matches.k.Trim()] = $Matches.v.Trim() }
        }
        $get = { param($k, $d) if ($yaml.ContainsKey($k) -and $yaml[$k]) { $yaml[$k] } else { $d } }
        $entry = [pscustomobject]@{
            Type          = & $get 'Type' 'Object'
            Aliases       = & $get 'Aliases' ''
            Required      = (& $get 'Required' 'False') -match '^true'
            Position      = & $get 'Position' 'Named'
            DefaultValue  = & $get 'Default value' 'None'
            PipelineInput = & $get 'Accept pipeline input' 'False'
            Wildcard      = (& $get 'Accept wildcard characters' 'False') -match '^true'
        }
        if (-not $first) { $first = $entry }
        foreach ($set in ((& $get 'Parameter Sets' '(All)') -split ',\s*')) { $perSet[$set] = $entry }
    }
    if (-not $first) {
        $first = [pscustomobject]@{ Type = 'Object'; Aliases = ''; Required = $false; Position = 'Named'; DefaultValue = 'None'; PipelineInput = 'False'; Wildcard = $false }
        $perSet['(All)'] = $first
    }
    [pscustomobject]@{
        Name          = $heading.TrimStart('-').Trim()
        Description   = $description
        Type          = $first.Type
        ParameterSets = @($perSet.Keys)
        PerSet        = $perSet
        Aliases       = $first.Aliases
        Required      = $first.Required
        Position      = $first.Position
        DefaultValue  = $first.DefaultValue
        PipelineInput = $first.PipelineInput
        Wildcard      = $first.Wildcard
    }
}

function ConvertTo-MamlXml {
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [object[]] $Help)
    $ns = @{
        maml = 'http://schemas.microsoft.com/maml/2004/10'; command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
        dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
    }
    $settings = [System.Xml.XmlWriterSettings]::new()
    $settings.Indent = $true
    $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
    $sb = [System.Text.StringBuilder]::new()
    $w = [System.Xml.XmlWriter]::Create($sb, $settings)
    $paras = {
        param($text)
        foreach ($p in (($text ?? '') -split "\n\s*\n")) {
            $t = $p.Trim()
            if ($t) { $w.WriteElementString('para', $ns.maml, ($t -replace '\s*\n\s*', ' ')) }
        }
    }
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems'); $w.WriteAttributeString('schema', 'maml')
    $w.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $w.WriteAttributeString('xmlns', 'command', $null, $ns.command)
    $w.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
    foreach ($h in $Help) {
        $verb, $noun = $h.Name -split '-', 2
        $w.WriteStartElement('command', 'command', $ns.command)
        $w.WriteStartElement('details', $ns.command)
        $w.WriteElementString('name', $ns.command, $h.Name)
        $w.WriteElementString('verb', $ns.command, $verb)
        $w.WriteElementString('noun', $ns.command, $noun)
        $w.WriteStartElement('description', $ns.maml); & $paras $h.Synopsis; $w.WriteEndElement()
        $w.WriteEndElement()
        $w.WriteStartElement('description', $ns.maml); & $paras $h.Description; $w.WriteEndElement()

        $writeParam = {
            param($p, [bool] $inSyntax)
            $w.WriteStartElement('parameter', $ns.command)
            $w.WriteAttributeString('required', $p.Required.ToString().ToLowerInvariant())
            $w.WriteAttributeString('variableLength', 'true')
            $w.WriteAttributeString('globbing', $p.Wildcard.ToString().ToLowerInvariant())
            $w.WriteAttributeString('pipelineInput', $p.PipelineInput)
            $w.WriteAttributeString('position', $p.Position.ToLowerInvariant())
            $w.WriteAttributeString('aliases', ($p.Aliases ? $p.Aliases : 'none'))
            $w.WriteElementString('name', $ns.maml, $p.Name)
            $w.WriteStartElement('description', $ns.maml); & $paras $p.Description; $w.WriteEndElement()
            $isSwitch = $p.Type -eq 'SwitchParameter'
            $w.WriteStartElement('parameterValue', $ns.command)
            $w.WriteAttributeString('required', (-not $isSwitch).ToString().ToLowerInvariant())
            $w.WriteAttributeString('variableLength', 'false')
            $w.WriteString($p.Type); $w.WriteEndElement()
            $w.WriteStartElement('type', $ns.dev); $w.WriteElementString('name', $ns.maml, $p.Type); $w.WriteEndElement()
            if (-not $inSyntax) { $w.WriteElementString('defaultValue', $ns.dev, $p.DefaultValue) }
            $w.WriteEndElement()
        }

        $w.WriteStartElement('syntax', $ns.command)
        $sets = @($h.SyntaxSets)
        if ($sets.Count -eq 0) { $sets = @([pscustomobject]@{ Name = '(All)'; IsDefault = $true }) }
        foreach ($set in $sets) {
            $w.WriteStartElement('syntaxItem', $ns.command)
            $w.WriteElementString('name', $ns.maml, $h.Name)
            foreach ($p in $h.Parameters) {
                if ($set.Name -eq '(All)' -or $p.ParameterSets -contains '(All)' -or $p.ParameterSets -contains $set.Name) {
                    $inSet = $p
                    if ($p.PerSet -and $p.PerSet.Contains($set.Name)) {
                        $s = $p.PerSet[$set.Name]
                        $inSet = [pscustomobject]@{ Name = $p.Name; Description = $p.Description; Type = $s.Type; Aliases = $s.Aliases
                            Required = $s.Required; Position = $s.Position; DefaultValue = $s.DefaultValue; PipelineInput = $s.PipelineInput; Wildcard = $s.Wildcard }
                    }
                    & $writeParam $inSet $true
                }
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('parameters', $ns.command)
        foreach ($p in $h.Parameters) { & $writeParam $p $false }
        $w.WriteEndElement()

        foreach ($kind in @(@('inputTypes', 'inputType', $h.Inputs), @('returnValues', 'returnValue', $h.Outputs))) {
            $w.WriteStartElement($kind[0], $ns.command)
            foreach ($t in $kind[2]) {
                $w.WriteStartElement($kind[1], $ns.command)
                $w.WriteStartElement('type', $ns.dev); $w.WriteElementString('name', $ns.maml, $t.Type); $w.WriteEndElement()
                $w.WriteStartElement('description', $ns.maml); & $paras $t.Description; $w.WriteEndElement()
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
        if ($h.Notes) {
            $w.WriteStartElement('alertSet', $ns.maml); $w.WriteStartElement('alert', $ns.maml); & $paras $h.Notes
            $w.WriteEndElement(); $w.WriteEndElement()
        }
        $w.WriteStartElement('examples', $ns.command)
        foreach ($e in $h.Examples) {
            $w.WriteStartElement('example', $ns.command)
            $w.WriteElementString('title', $ns.maml, "-------------------------- $($e.Title) --------------------------")
            $w.WriteElementString('code', $ns.dev, $e.Code)
            $w.WriteStartElement('remarks', $ns.dev); & $paras $e.Remarks; $w.WriteEndElement()
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
        $w.WriteStartElement('relatedLinks', $ns.command)
        foreach ($l in $h.Links) {
            $w.WriteStartElement('navigationLink', $ns.maml)
            $w.WriteElementString('linkText', $ns.maml, $l.Text); $w.WriteElementString('uri', $ns.maml, $l.Uri)
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement(); $w.WriteEndDocument(); $w.Flush(); $w.Dispose()
    $sb.ToString()
}

function Build-ExternalHelp {
    <# Writes <OutputFolder>/HeteroBatch.PS.dll-Help.xml from every markdown file in SourceFolder. #>
    [CmdletBinding()]
    [OutputType([System.IO.FileInfo])]
    param([Parameter(Mandatory)] [string] $SourceFolder, [Parameter(Mandatory)] [string] $OutputFolder,
          [string] $FileName = 'HeteroBatch.PS.dll-Help.xml')
    $files = Get-ChildItem -LiteralPath $SourceFolder -Filter '*.md' | Where-Object { $_.BaseName -match '^[A-Z][a-z]+-' } | Sort-Object Name
    $help = @($files | ConvertFrom-HelpMarkdown)
    foreach ($h in $help) {
        if (-not $h.Name -or -not $h.Synopsis) { throw "Help file '$($h.Path)' has no '# Name' or '## SYNOPSIS'." }
    }
    $null = New-Item -ItemType Directory -Force -Path $OutputFolder
    $target = Join-Path $OutputFolder $FileName
    $xml = ConvertTo-MamlXml -Help $help
    [System.IO.File]::WriteAllText($target, $xml, [System.Text.UTF8Encoding]::new($false))
    Get-Item -LiteralPath $target
}

Export-ModuleMember -Function ConvertFrom-HelpMarkdown, ConvertTo-MamlXml, Build-ExternalHelp
