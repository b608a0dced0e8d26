#!/usr/bin/env bash
# Test hosts for the remoting tests: three "machines" on this one, each a network namespace with its own
# hostname (a UTS namespace) running its own sshd with PowerShell's SSH subsystem.
#
#   hb-node1  198.18.1.2  sshd, the HeteroBatch module on PSModulePath
#   hb-node2  198.18.2.2  sshd, the HeteroBatch module on PSModulePath
#   hb-node3  198.18.3.2  sshd, no HeteroBatch module (a machine the module was never installed on)
#   nothing listens on 198.18.3.2:2222 (an unreachable host)
#
# 198.18.0.0/15 is the range set aside for network tests (RFC 2544); the addresses exist only on the veth
# pairs made here, and the script checks that each one routes to its own pair before it writes the host list,
# so the tests never reach any other address. Keys are made here, for these hosts only.
#
# Usage (as root, Linux):  setup-sshd.sh up     create (or re-create) the hosts; writes $STATE/hosts.json
#                          setup-sshd.sh down   stop the sshds and their sessions, remove namespaces and state
#                          setup-sshd.sh status
# Environment: HETEROBATCH_REMOTING_STATE (default /run/heterobatch-remoting) holds keys, configs, pid files.
# 'up' installs openssh-server, openssh-client and iproute2 with apt-get when they are missing (the package's own
# sshd service is kept from starting and then disabled). 'up' leaves nothing behind when it fails (namespaces,
# state, the policy-rc.d it wrote); 'down' removes everything 'up' made, /run/sshd included when 'up' made it.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${HETEROBATCH_REMOTING_STATE:-/run/heterobatch-remoting}
NODES=(1 2 3)
SUBNET_PREFIX=198.18
UNREACHABLE_PORT=2222

log() { printf 'setup-sshd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

node_name() { echo "hb-node$1"; }
node_addr() { echo "$SUBNET_PREFIX.$1.2"; }
host_addr() { echo "$SUBNET_PREFIX.$1.1"; }

# What 'up' changed on this machine outside $STATE, undone by on_exit when 'up' fails part-way (and the
# policy file in every case): nothing is left behind on success or failure.
MADE_POLICY=""
UP_DONE=0

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $MADE_POLICY ]]; then rm -f "$MADE_POLICY"; fi
    if [[ ${1:-} == up && $UP_DONE == 0 ]]; then
        log "'up' did not finish; removing what it made (the hosts' sshd logs follow)"
        local f
        for f in "$STATE"/hb-node*/sshd.log; do [[ -s $f ]] && { log "$f:"; tail -n 20 "$f" >&2; }; done
        down || true
    fi
    exit "$rc"
}

disable_system_sshd() {
    # The package enables its own ssh service (systemd units and SysV links) for the next boot: the test
    # hosts need only the binary, so take the service back out. Each tool is optional (containers may lack one).
    local unit
    for unit in ssh.service ssh.socket sshd.service; do
        if command -v deb-systemd-helper >/dev/null; then deb-systemd-helper disable "$unit" >/dev/null 2>&1 || true; fi
        rm -f /etc/systemd/system/*.wants/"$unit" /etc/systemd/system/sshd.service
    done
    if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/ssh ]]; then update-rc.d -f ssh remove >/dev/null 2>&1 || true; fi
    if compgen -G '/etc/systemd/system/*.wants/ssh*' >/dev/null || compgen -G '/etc/rc[2-5].d/S*ssh' >/dev/null; then
        die "could not disable the ssh service that openssh-server enabled; disable it by hand."
    fi
}

install_packages() {
    # sshd, the ssh client PowerShell's SSH transport runs, ssh-keygen, and ip (network namespaces).
    local missing=()
    [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
    { command -v ssh && command -v ssh-keygen; } >/dev/null || missing+=(openssh-client)
    command -v ip >/dev/null || missing+=(iproute2)
    (( ${#missing[@]} == 0 )) && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and apt-get is not available; install them."
    log "installing ${missing[*]}"
    # Keep the package's sshd service from starting on the machine's real interfaces; on_exit removes the
    # file even when apt-get fails (left behind, it would block every later service start).
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then MADE_POLICY=$policy; printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; fi
    local rc=0
    { DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } || rc=$?
    if [[ -n $MADE_POLICY ]]; then rm -f "$MADE_POLICY"; MADE_POLICY=""; fi
    if [[ " ${missing[*]} " == *" openssh-server "* ]] && dpkg -s openssh-server >/dev/null 2>&1; then disable_system_sshd; fi
    (( rc == 0 )) || die "apt-get failed (exit code $rc) installing ${missing[*]}; install them and run again."
    [[ -x /usr/sbin/sshd ]] || die "openssh-server was installed but /usr/sbin/sshd is missing."
}

# Ends the processes started for a node (its sshd and the PowerShell sessions under it), by pid.
stop_node() {
    local i=$1 ns pids
    ns=$(node_name "$i")
    if ip netns list 2>/dev/null | grep -qw "^$ns"; then
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [[ -n $pids ]]; then
            kill $pids 2>/dev/null || true
            for _ in $(seq 1 20); do
                pids=$(ip netns pids "$ns" 2>/dev/null || true)
                [[ -z $pids ]] && break
                sleep 0.1
            done
            [[ -n $pids ]] && kill -9 $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    fi
    ip link del "hbr$i" 2>/dev/null || true
}

down() {
    for i in "${NODES[@]}"; do stop_node "$i"; done
    # /run/sshd (sshd's privilege-separation folder) goes too when 'up' made it.
    if [[ -e $STATE/made-run-sshd ]]; then rmdir /run/sshd 2>/dev/null || rm -rf /run/sshd; fi
    rm -rf "$STATE"
}

pwsh_home() {
    # PSHOME of the pinned PowerShell (the dotnet tool): the folder with pwsh.dll.
    (cd "$REPO" && dotnet tool restore >/dev/null && dotnet pwsh -NoProfile -NonInteractive -Command '$PSHOME') | tail -n 1
}

write_wrapper() {
    # An sshd subsystem must be one executable: a script that starts pwsh.dll on the dotnet host.
    local path=$1 with_module=$2 dotnet_root psHome
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    psHome=$3
    {
        echo '#!/bin/sh'
        echo "# PowerShell SSH subsystem for the HeteroBatch test hosts (made by tests/remoting/setup-sshd.sh)."
        echo "export DOTNET_ROOT='$dotnet_root'"
        echo "export PATH='$dotnet_root:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'"
        echo "export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off"
        if [[ $with_module == 1 ]]; then
            echo "export PSModulePath='$STATE/modules'"
        else
            echo "unset PSModulePath"
        fi
        echo "exec '$dotnet_root/dotnet' '$psHome/pwsh.dll' -sshs -NoLogo -NoProfile"
    } >"$path"
    chmod 755 "$path"
}

start_node() {
    local i=$1 wrapper=$2 ns addr haddr dir
    ns=$(node_name "$i"); addr=$(node_addr "$i"); haddr=$(host_addr "$i"); dir="$STATE/$ns"
    mkdir -p "$dir"
    ip netns add "$ns"
    ip link add "hbr$i" type veth peer name "hbn$i"
    ip link set "hbn$i" netns "$ns"
    ip addr add "$haddr/24" dev "hbr$i"
    ip link set "hbr$i" up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip addr add "$addr/24" dev "hbn$i"
    ip netns exec "$ns" ip link set "hbn$i" up

    cat >"$dir/sshd_config" <<EOF
# sshd of test host $ns (tests/remoting/setup-sshd.sh)
ListenAddress $addr
Port 22
HostKey $STATE/host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem powershell $wrapper
EOF
    # Own hostname (UTS namespace) so Environment.MachineName differs per host; sshd daemonises and stays in both.
    ip netns exec "$ns" unshare --uts /bin/sh -c "hostname '$ns' && exec /usr/sbin/sshd -f '$dir/sshd_config' -E '$dir/sshd.log'"
}

wait_listening() {
    local addr=$1
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/$addr/22") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

check_route() {
    # The address must be reached through this script's veth, never a real route.
    local i=$1 dev
    dev=$(ip -o route get "$(node_addr "$i")" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
    [[ $dev == "hbr$i" ]] || die "$(node_addr "$i") routes through '$dev', not hbr$i; refusing to use it."
}

up() {
    [[ $(id -u) == 0 ]] || die "run as root (network namespaces and sshd need it)."
    [[ $(uname -s) == Linux ]] || die "the test hosts need Linux network namespaces."
    trap 'on_exit up' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    install_packages
    for c in ip unshare hostname ssh ssh-keygen dotnet; do command -v "$c" >/dev/null || die "'$c' is missing."; done
    down
    mkdir -p "$STATE/modules"
    chmod 700 "$STATE"
    if [[ ! -d /run/sshd ]]; then mkdir -p /run/sshd; : >"$STATE/made-run-sshd"; fi

    ssh-keygen -q -t ed25519 -N '' -C heterobatch-test-client -f "$STATE/client_ed25519_key"
    ssh-keygen -q -t ed25519 -N '' -C heterobatch-test-host -f "$STATE/host_ed25519_key"
    cp "$STATE/client_ed25519_key.pub" "$STATE/authorized_keys"
    # Where build.ps1 stages the module; the link is valid once the module is built.
    ln -sfn "$REPO/out/HeteroBatch" "$STATE/modules/HeteroBatch"

    local psHome
    psHome=$(pwsh_home)
    [[ -f $psHome/pwsh.dll ]] || die "pwsh.dll not found (PSHOME '$psHome'); run 'dotnet tool restore' in $REPO."
    write_wrapper "$STATE/pwsh-subsystem-module.sh" 1 "$psHome"
    write_wrapper "$STATE/pwsh-subsystem-bare.sh" 0 "$psHome"

    for i in "${NODES[@]}"; do
        if [[ $i == 3 ]]; then start_node "$i" "$STATE/pwsh-subsystem-bare.sh"; else start_node "$i" "$STATE/pwsh-subsystem-module.sh"; fi
    done
    for i in "${NODES[@]}"; do
        check_route "$i"
        wait_listening "$(node_addr "$i")" || die "sshd of $(node_name "$i") does not listen; see $STATE/$(node_name "$i")/sshd.log"
    done

    # One real login per host: key, host key options and hostname all as the tests will use them.
    local ssh_opts=(-i "$STATE/client_ed25519_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
                    -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10)
    for i in "${NODES[@]}"; do
        local got
        got=$(ssh "${ssh_opts[@]}" "root@$(node_addr "$i")" hostname) || die "ssh to $(node_addr "$i") failed; see $STATE/$(node_name "$i")/sshd.log"
        [[ $got == "$(node_name "$i")" ]] || die "$(node_addr "$i") answers as '$got', not $(node_name "$i")."
    done

    cat >"$STATE/hosts.json" <<EOF
{
  "UserName": "root",
  "KeyFilePath": "$STATE/client_ed25519_key",
  "SshOptions": { "StrictHostKeyChecking": "no", "UserKnownHostsFile": "/dev/null", "LogLevel": "ERROR", "BatchMode": "yes", "ConnectTimeout": "10" },
  "Hosts": [
    { "Name": "hb-node1", "Address": "$(node_addr 1)", "HasModule": true },
    { "Name": "hb-node2", "Address": "$(node_addr 2)", "HasModule": true },
    { "Name": "hb-node3", "Address": "$(node_addr 3)", "HasModule": false }
  ],
  "Unreachable": { "Address": "$(node_addr 3)", "Port": $UNREACHABLE_PORT }
}
EOF
    UP_DONE=1
    log "test hosts up: $(for i in "${NODES[@]}"; do printf '%s=%s ' "$(node_name "$i")" "$(node_addr "$i")"; done)(list: $STATE/hosts.json)"
}

status() {
    for i in "${NODES[@]}"; do
        local ns; ns=$(node_name "$i")
        if ip netns list 2>/dev/null | grep -qw "^$ns"; then
            echo "$ns $(node_addr "$i"): pids $(ip netns pids "$ns" | tr '\n' ' ')"
        else
            echo "$ns: down"
        fi
    done
}

case "${1:-up}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) die "usage: $0 [up|down|status]" ;;
esac
