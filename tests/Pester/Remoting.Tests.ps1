# Across machines over real PowerShell remoting (SSH): the test hosts of tests/remoting/setup-sshd.sh are network
# namespaces of this machine, each with its own hostname and sshd (hb-node1 and hb-node2 have the module on their
# PSModulePath, hb-node3 has not; nothing listens on the 'Unreachable' address). .ci/run creates them; elsewhere
# run `sudo tests/remoting/setup-sshd.sh up` first, or these tests are skipped (under CI=true they fail instead).
BeforeDiscovery {
    $hostsFile = if ($env:HETEROBATCH_REMOTING_HOSTS) { $env:HETEROBATCH_REMOTING_HOSTS } else { '/run/heterobatch-remoting/hosts.json' }
    $script:noHosts = -not (Test-Path $hostsFile) -and $env:CI -ne 'true'
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-TestModulePath) 'HeteroBatch.psd1') -Force
    $hostsFile = if ($env:HETEROBATCH_REMOTING_HOSTS) { $env:HETEROBATCH_REMOTING_HOSTS } else { '/run/heterobatch-remoting/hosts.json' }
    if (-not (Test-Path $hostsFile)) {
        if ($env:CI -eq 'true') { throw "The remoting test hosts are missing ($hostsFile): .ci/run runs tests/remoting/setup-sshd.sh up before the tests." }
        return
    }
    $hosts = Get-Content $hostsFile -Raw | ConvertFrom-Json
    $sshOptions = @{}
    foreach ($p in $hosts.SshOptions.PSObject.Properties) { $sshOptions[$p.Name] = $p.Value }
    $ssh = @{ UserName = $hosts.UserName; KeyFilePath = $hosts.KeyFilePath; Options = $sshOptions }
    $node1 = $hosts.Hosts | Where-Object Name -eq 'hb-node1'
    $node2 = $hosts.Hosts | Where-Object Name -eq 'hb-node2'
    $node3 = $hosts.Hosts | Where-Object Name -eq 'hb-node3'
    $cache = $env:HETEROBATCH_CACHE

    function New-NodeSession([object] $Node) {
        $s = New-PSSession -HostName $Node.Address @ssh -ErrorAction Stop
        # Zoo models are generated once per test run, into the run's cache (a shared folder for every "machine").
        if ($cache) { Invoke-Command -Session $s { $env:HETEROBATCH_CACHE = $using:cache } }
        $s
    }

    function Read-NpyFloats([string] $path) {
        $bytes = [IO.File]::ReadAllBytes($path)
        $start = 10 + [BitConverter]::ToUInt16($bytes, 8)
        $values = [float[]]::new(($bytes.Length - $start) / 4)
        [Buffer]::BlockCopy($bytes, $start, $values, 0, $bytes.Length - $start)
        , $values
    }

    function Assert-SameOutputs([float[]] $Expected, [float[]] $Actual) {
        $Actual.Length | Should -Be $Expected.Length
        for ($i = 0; $i -lt $Expected.Length; $i++) {
            [math]::Abs($Expected[$i] - $Actual[$i]) | Should -BeLessOrEqual (1e-5 * [math]::Max(1, [math]::Abs($Expected[$i]))) -Because "output value $i"
        }
    }

    function New-ImageFolder([int] $Count) {
        Add-Type -Path (Join-Path (Get-TestModulePath) 'SixLabors.ImageSharp.dll')
        $dir = Join-Path $scratch ('images-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $dir
        $rng = [Random]::new($Count)
        foreach ($n in 0..($Count - 1)) {
            $img = [SixLabors.ImageSharp.Image[SixLabors.ImageSharp.PixelFormats.Rgb24]]::new(36 + $n % 5, 34)
            for ($y = 0; $y -lt $img.Height; $y += 3) {
                for ($x = 0; $x -lt $img.Width; $x += 3) {
                    $img[$x, $y] = [SixLabors.ImageSharp.PixelFormats.Rgb24]::new($rng.Next(256), $rng.Next(256), $rng.Next(256))
                }
            }
            [SixLabors.ImageSharp.ImageExtensions]::SaveAsPng($img, (Join-Path $dir ('img{0:D2}.png' -f $n)))
            $img.Dispose()
        }
        $dir
    }

    $table = New-TestTablePath
    $scratch = Split-Path $table
    $s1 = New-NodeSession $node1
    $s2 = New-NodeSession $node2
    # Fan-out profiling into one table, with the thread count a CPU-only run uses there (so runs need no profiling).
    $profileRows = Invoke-Command -Session $s1, $s2 {
        Measure-BatchProfile -Model tinynet -Unit cpu -BatchSize 1, 2, 4, 8 -Warmup 1 -Repeat 2 -NoRefine -ThreadCount ([Environment]::ProcessorCount)
    }
    $profileRows | Set-PerfTable -Path $table
}

AfterAll {
    Get-PSSession | Remove-PSSession -ErrorAction SilentlyContinue
}

Describe 'Across machines over SSH remoting' -Skip:$noHosts {
    It 'lists the units of remote machines with their MachineName' {
        $units = Get-ComputeUnit -Session $s1, $s2
        $units | ForEach-Object { $_ | Should -BeOfType ([HeteroBatch.Engine.Units.ComputeUnit]) }
        @($units.MachineName | Sort-Object -Unique) | Should -Be @('hb-node1', 'hb-node2')
        ($units | Where-Object MachineName -eq 'hb-node1').PSComputerName | Should -Be $node1.Address
        $one = Get-ComputeUnit -Session $s1, $s2 -Id hb-node2/cpu
        @($one).Count | Should -Be 1
        $one.MachineName | Should -Be 'hb-node2'
    }

    It 'merges profiles from two machines into one table, by MachineName and not by PSComputerName' {
        $profileRows[0].PSComputerName | Should -BeIn @($node1.Address, $node2.Address)
        $rows = Get-PerfTable -Path $table -Model tinynet
        @($rows.MachineName | Sort-Object -Unique) | Should -Be @('hb-node1', 'hb-node2')
        foreach ($m in 'hb-node1', 'hb-node2') { @($rows | Where-Object MachineName -eq $m).Count | Should -Be 4 }
        # The measurement times survive the trip (to the second), rather than becoming the time of the merge.
        $sent = $profileRows | Where-Object { $_.MachineName -eq 'hb-node1' -and $_.BatchSize -eq 4 }
        $kept = $rows | Where-Object { $_.MachineName -eq 'hb-node1' -and $_.BatchSize -eq 4 }
        [math]::Abs(([DateTimeOffset]$kept.Timestamp - [DateTimeOffset]::Parse("$($sent.Timestamp)", [cultureinfo]::InvariantCulture)).TotalSeconds) | Should -BeLessThan 1
        # A record without a MachineName of its own takes the session's computer name (the alias PSComputerName).
        $t2 = New-TestTablePath
        Invoke-Command -Session $s1 { [pscustomobject]@{ Model = 'handmade'; Unit = 'cpu'; BatchSize = 1; ExecMs = 2.5 } } | Set-PerfTable -Path $t2
        (Get-PerfTable -Path $t2).MachineName | Should -Be $node1.Address
    }

    It 'plans across machines in two levels, shown and kept through JSON' {
        $plan = Split-Batch -Model tinynet -BatchSize 50 -Unit hb-node1/cpu, hb-node2/cpu -Path $table
        @($plan.MachineShares).Count | Should -Be 2
        ($plan.MachineShares | Measure-Object Items -Sum).Sum | Should -Be 50
        $offset = 0
        foreach ($m in $plan.MachineShares | Where-Object Items -gt 0) {
            $m.Offset | Should -Be $offset
            $mine = $plan.Shares | Where-Object MachineName -eq $m.MachineName
            ($mine | Measure-Object Items -Sum).Sum | Should -Be $m.Items
            $mine.Unit | Should -Be "$($m.MachineName)/cpu"
            $offset += $m.Items
        }
        $piped = Get-ComputeUnit -Session $s1, $s2 | Split-Batch -Model tinynet -BatchSize 50 -Path $table
        $piped.MachineShares.MachineName | Sort-Object | Should -Be @('hb-node1', 'hb-node2')
        ($plan | Out-String) | Should -Match 'hb-node2'
        $copy = $plan | ConvertTo-Json -Depth 8 | ConvertFrom-Json
        @($copy.MachineShares).Count | Should -Be 2
    }

    It 'runs images on shared storage across two machines with the outputs of a local run' {
        $images = New-ImageFolder 24
        $localOut = Join-Path $scratch 'local.npy'
        $remoteOut = Join-Path $scratch 'remote.npy'
        $null = Invoke-HeteroInference -Model tinynet -Unit cpu -InputPath $images -Path (New-TestTablePath) -OutputPath $localOut
        $r = Invoke-HeteroInference -Model tinynet -Session $s1, $s2 -InputPath $images -Algorithm Even -Path $table -OutputPath $remoteOut
        $r.BatchSize | Should -Be 24
        @($r.Machines).Count | Should -Be 2
        foreach ($m in $r.Machines) {
            $m.Items | Should -Be 12
            $m.ItemsCompleted | Should -Be 12
            $m.TransferMs | Should -BeGreaterThan 0
            $m.Failed | Should -BeFalse
        }
        @($r.Units.Unit | Sort-Object) | Should -Be @('hb-node1/cpu', 'hb-node2/cpu')
        Assert-SameOutputs (Read-NpyFloats $localOut) (Read-NpyFloats $remoteOut)
    }

    It 'sends a caller''s tensor and gets the outputs back in order' {
        $data = [float[]]::new(10 * 3 * 32 * 32)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = [math]::Sin($i * 0.37) }
        $local = , $data | Invoke-HeteroInference -Model tinynet -Unit cpu -InputShape 10, 3, 32, 32 -Path (New-TestTablePath) -PassThru
        $remote = , $data | Invoke-HeteroInference -Model tinynet -Session $s1, $s2 -InputShape 10, 3, 32, 32 -Algorithm Even -Path $table -PassThru
        @($remote.Machines | Where-Object ItemsCompleted -gt 0).Count | Should -Be 2
        Assert-SameOutputs $local.Output.ToArray() $remote.Output.ToArray()
    }

    It 'runs -Precision Half across machines with the outputs of a local fp16 run, profiling the fp16 model on each machine' {
        $local = Invoke-HeteroInference -Model tinynet -Unit cpu -BatchSize 10 -Seed 2 -Precision Half -Path (New-TestTablePath) -PassThru
        $remote = Invoke-HeteroInference -Model tinynet -Session $s1, $s2 -BatchSize 10 -Seed 2 -Precision Half -Algorithm Even -Path $table -PassThru
        $remote.Model | Should -Be 'tinynet-fp16'
        $remote.ModelHash | Should -Be $local.ModelHash
        @($remote.Machines | Where-Object ItemsCompleted -gt 0).Count | Should -Be 2
        Assert-SameOutputs $local.Output.ToArray() $remote.Output.ToArray()
        # Each machine profiled the fp16 model itself (the table had only fp32 rows), into this machine's table.
        $rows = Get-PerfTable -Path $table | Where-Object ModelHash -eq $local.ModelHash
        @($rows.MachineName | Sort-Object -Unique) | Should -Be @('hb-node1', 'hb-node2')
    }

    It 'opens its own SSH sessions with -HostName and closes them afterwards' {
        $before = @(& ip netns pids hb-node1).Count
        $r = Invoke-HeteroInference -Model tinynet -HostName $node1.Address, $node2.Address -UserName $hosts.UserName -KeyFilePath $hosts.KeyFilePath -SSHOption $sshOptions -BatchSize 10 -Algorithm Even -Path $table
        @($r.Machines.Unit | Sort-Object) | Should -Be @('hb-node1', 'hb-node2')
        ($r.Machines | Measure-Object ItemsCompleted -Sum).Sum | Should -Be 10
        # The remote PowerShell processes end with their sessions.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (@(& ip netns pids hb-node1).Count -gt $before -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        @(& ip netns pids hb-node1).Count | Should -Be $before
    }

    It 'computes every item when a machine is killed mid-run, and reports it' {
        $images = New-ImageFolder 16
        $plan = Split-Batch -Model tinynet -BatchSize 16 -Unit hb-node1/cpu, hb-node2/cpu -Algorithm Even -Path $table
        $slice = $plan.MachineShares | Where-Object MachineName -eq 'hb-node2'
        $slice.Items | Should -BeGreaterThan 0
        $localOut = Join-Path $scratch 'before-kill.npy'
        $null = Invoke-HeteroInference -Model tinynet -Unit cpu -InputPath $images -Path (New-TestTablePath) -OutputPath $localOut

        # hb-node2 reads its first image from a FIFO: the moment it opens it, it is mid-run. The watcher then puts
        # the real image back at that path (for the re-run elsewhere) and kills hb-node2's PowerShell process.
        $victim = New-NodeSession $node2
        $victimPid = Invoke-Command -Session $victim { $PID }
        $path = Join-Path $images ('img{0:D2}.png' -f $slice.Offset)
        $real = "$path.real"
        Move-Item $path $real
        & mkfifo $path
        $psi = [Diagnostics.ProcessStartInfo]::new('bash')
        foreach ($a in '-c', 'exec 3>"$1"; mv -f "$2" "$1"; kill -9 "$3"; exec 3>&-', 'watcher', $path, $real, "$victimPid") { $psi.ArgumentList.Add($a) }
        $watcher = [Diagnostics.Process]::Start($psi)
        try {
            $r = Invoke-HeteroInference -Model tinynet -Session $s1, $victim -Plan $plan -InputPath $images -Path $table -PassThru -WarningVariable warnings -WarningAction SilentlyContinue
        } finally {
            if (-not $watcher.WaitForExit(10000)) { $watcher.Kill(); if (Test-Path $real) { Remove-Item $path; Move-Item $real $path } }
            Remove-PSSession $victim -ErrorAction SilentlyContinue
        }
        $watcher.ExitCode | Should -Be 0 -Because 'the watcher saw hb-node2 open its input and killed it'
        $r.FailedMachines | Should -Be @('hb-node2')
        $dead = $r.Machines | Where-Object Unit -eq 'hb-node2'
        $dead.Failed | Should -BeTrue
        $dead.ErrorId | Should -Be 'MachineFailed'
        $dead.ItemsCompleted | Should -Be 0
        ($r.Machines | Where-Object Unit -eq 'hb-node1').ItemsCompleted | Should -Be 16
        $r.ItemsReplanned | Should -Be $slice.Items
        ($warnings -join "`n") | Should -Match 'hb-node2'
        Assert-SameOutputs (Read-NpyFloats $localOut) $r.Output.ToArray()
    }

    Context 'bad input' {
        It 'names a machine whose session has no HeteroBatch module (RemoteModuleNotFound)' {
            $bare = New-PSSession -HostName $node3.Address @ssh -ErrorAction Stop
            try {
                $err = { Invoke-HeteroInference -Model tinynet -Session $s1, $bare -BatchSize 4 -Path $table -ErrorAction Stop } | Should -Throw -PassThru
                $err.FullyQualifiedErrorId | Should -BeLike 'RemoteModuleNotFound*'
                $err.CategoryInfo.Category | Should -Be 'NotInstalled'
                $err.Exception.Message | Should -Match 'hb-node3'
                $err2 = { Get-ComputeUnit -Session $bare -ErrorAction Stop } | Should -Throw -PassThru
                $err2.FullyQualifiedErrorId | Should -BeLike 'RemoteModuleNotFound*'
            } finally { Remove-PSSession $bare }
        }

        It 'says when a host cannot be reached (RemoteConnectionFailed)' {
            $target = '{0}:{1}' -f $hosts.Unreachable.Address, $hosts.Unreachable.Port
            $err = { Invoke-HeteroInference -Model tinynet -HostName $target -UserName $hosts.UserName -KeyFilePath $hosts.KeyFilePath -SSHOption $sshOptions -BatchSize 4 -Path $table -ErrorAction Stop } |
                Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'RemoteConnectionFailed*'
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            $err.Exception.Message | Should -Match ([regex]::Escape($target))
        }

        It 'rejects a unit id that names an unknown machine (UnknownMachine)' -ForEach @(
            @{ Case = 'run across sessions'; Script = { Invoke-HeteroInference -Model tinynet -Session $s1, $s2 -Unit hb-node9/cpu -BatchSize 4 -Path $table -ErrorAction Stop } }
            @{ Case = 'run without a session'; Script = { Invoke-HeteroInference -Model tinynet -Unit hb-node9/cpu -BatchSize 4 -Path $table -ErrorAction Stop } }
            @{ Case = 'plan'; Script = { Split-Batch -Model tinynet -BatchSize 8 -Unit hb-node1/cpu, hb-node9/cpu -Path $table -ErrorAction Stop } }
            @{ Case = 'unit list'; Script = { Get-ComputeUnit -Session $s1 -Id hb-node9/cpu -ErrorAction Stop } }
        ) {
            $err = { & $Script } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'UnknownMachine*'
            $err.Exception.Message | Should -Match 'hb-node9'
            $err.Exception.Message | Should -Not -Match '   at '
        }

        It 'refuses a closed session (RemoteSessionBroken)' {
            $gone = New-PSSession -HostName $node1.Address @ssh -ErrorAction Stop
            Remove-PSSession $gone
            $err = { Invoke-HeteroInference -Model tinynet -Session $gone -BatchSize 4 -Path $table -ErrorAction Stop } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'RemoteSessionBroken*'
        }
    }
}
