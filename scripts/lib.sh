# Shared bash for the QEMU scripts (qemu-ast2600, qemu-lm3s, qemu-x86-ipmi) and their test-*
# wrappers: messages, free ports, starting and stopping QEMU by PID, bounded waits, and the
# idempotent installs. Sourced, never run; it only defines functions.
#
# The sourcing script sets, before it calls them:
#   tag        the prefix of log lines, e.g. qemu-ast2600
#   need_hint  what installs a missing tool (the `need` message), e.g. "scripts/test-ast2600"
#   qemu       the QEMU system binary; a PID is only ever signalled if its command line names it
#   dir        the run directory holding qemu.pid
#   cache      (Debian kernels only) the cache directory for the private apt index and the tree
# and, for wait_for_http, a function `boot_log LINES` that prints the last lines of the guest's
# log (console or decoded firmware log).

log() { printf '[%s] %s\n' "${tag:-wsbmc}" "$*" >&2; }
die() {
    log "$*"
    exit 1
}

# A test script's stage heading.
step() { printf '\n==> %s\n' "$*"; }

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || die "$c not found (${need_hint:-scripts/setup} installs the tools this needs)"
    done
}

target_dir() { echo "${CARGO_TARGET_DIR:-$root/target}"; }

# ---------------------------------------------------------------------------------------------
# Installing, idempotently.

# Installs the named Debian packages with the machine's apt when root (CI is root); lists are
# fetched only when the first package is unknown (a fresh machine has none). As a normal user the
# packages are reported and this fails. Bounded by timeouts; no-op without arguments.
apt_install() {
    [ $# -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing $* and not root: install them with apt"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show "$1" >/dev/null 2>&1 ||
        timeout 300 apt-get -o DPkg::Lock::Timeout=600 update -qq
    timeout 600 apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# QEMU 10 through scripts/install-qemu (its arguments pass through) when root; otherwise only a
# note that the e2e test will skip if the binary $1 is missing.
ensure_qemu() {
    local binary=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        scripts/install-qemu "$@"
    elif ! command -v "$binary" >/dev/null; then
        echo "$binary missing and not root: run scripts/install-qemu${*:+ $*} as root (the e2e test will skip)"
    fi
}

# The machine's Debian mirror, as scripts/install-qemu finds it (deb822 or one-line sources).
debian_mirror() {
    local m
    m=$(
        {
            for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] && awk '/^URIs:/ { print $2 }' "$f"
            done
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] && awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i }' "$f"
            done
        } 2>/dev/null | grep -i debian | grep -vi security | head -n1
    )
    echo "${m:-http://deb.debian.org/debian}"
}

# apt for architecture $1 with a private index under $cache/apt: its own sources list, lists,
# status and archive cache, so the machine's apt state and dpkg architectures stay as they are
# (and a machine whose lists were never fetched works the same). Bounded.
apt_private() {
    local arch=$1 a=$cache/apt
    shift
    timeout 600 env DEBIAN_FRONTEND=noninteractive "$1" \
        -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
        -o "Dir::Etc::sourcelist=$a/sources.list" -o Dir::Etc::sourceparts=- \
        -o "Dir::State::lists=$a/lists" -o "Dir::State::status=$a/status" \
        -o "Dir::Cache=$a" -o "Dir::Cache::archives=$a/archives" \
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Retries=3 -o Acquire::http::Timeout=30 "${@:2}"
}

# Debian bookworm's kernel linux-image-$2 and busybox-static for architecture $1, extracted to
# $cache/root; sets kver. Downloads only when the cache is empty.
fetch_kernel_packages() {
    local arch=$1 flavour=$2 stamp=$cache/packages.ok
    if [ -f "$stamp" ]; then
        kver=$(cat "$stamp")
        [ -f "$cache/root/boot/vmlinuz-$kver" ] && [ -x "$cache/root/bin/busybox" ] && return 0
    fi
    need apt-get apt-cache dpkg-deb depmod
    local a=$cache/apt
    mkdir -p "$a/lists/partial" "$a/archives/partial" "$cache/debs"
    : >"$a/status"
    echo "deb $(debian_mirror) bookworm main" >"$a/sources.list"
    log "apt-get update ($arch, private list in $a)"
    apt_private "$arch" apt-get update -qq >&2 || die "apt-get update for $arch failed"
    local kpkg
    kpkg=$(apt_private "$arch" apt-cache depends "linux-image-$flavour" 2>/dev/null |
        sed -n "s/^ *Depends: \(linux-image-[^ ]*-$flavour\)\$/\1/p" | head -n1)
    [ -n "$kpkg" ] || die "cannot resolve linux-image-$flavour in the $arch index"
    kver=${kpkg#linux-image-}
    log "downloading $kpkg and busybox-static ($arch)"
    rm -f "$cache/debs"/*.deb
    (cd "$cache/debs" && apt_private "$arch" apt-get download -q "$kpkg" busybox-static >&2) ||
        die "apt-get download failed"
    rm -rf "$cache/root"
    mkdir -p "$cache/root"
    local deb
    for deb in "$cache/debs"/*.deb; do
        dpkg-deb -x "$deb" "$cache/root"
    done
    depmod -b "$cache/root" "$kver"
    echo "$kver" >"$stamp"
    log "kernel $kver extracted to $cache/root"
}

# ---------------------------------------------------------------------------------------------
# Running QEMU.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pid_alive() {
    # Alive and still our QEMU: a recycled PID must never be signalled.
    local pid=$1
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "${qemu##*/}"
}

# Stops the QEMU whose PID is in $dir/qemu.pid: TERM, up to 5 s, then KILL.
stop_qemu() {
    local pidfile="$dir/qemu.pid" pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            log "QEMU $pid ignored TERM; killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped QEMU $pid"
    fi
    rm -f "$pidfile"
}

# Exit 0 once the guest answers an HTTP request on the forwarded port (any status). slirp accepts
# host connections before the guest listens, so an open port alone proves nothing.
http_answers() {
    python3 - "$1" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.settimeout(2)
    s.sendall(b"POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    sys.exit(0 if s.recv(12).startswith(b"HTTP/1.1 ") else 1)
except OSError:
    sys.exit(1)
EOF
}

# Waits until QEMU $2 answers HTTP on port $1, polling every $4 s for at most $3 s (counted from
# $t0, ns, when set: the boot's start). If QEMU exits, or the time runs out (QEMU is then
# stopped), the guest's log is shown and the script exits 1.
wait_for_http() {
    local port=$1 pid=$2 timeout_s=$3 interval=$4
    local deadline=$((${t0:-$(date +%s%N)} + timeout_s * 1000000000))
    until http_answers "$port"; do
        if ! pid_alive "$pid"; then
            cat "$dir/qemu.err" >&2 || true
            boot_log 40 >&2 2>/dev/null || true
            rm -f "$dir/qemu.pid"
            die "QEMU exited during boot"
        fi
        if [ "$(date +%s%N)" -gt "$deadline" ]; then
            log "no HTTP answer within ${timeout_s}s; guest log:"
            boot_log 60 >&2 2>/dev/null || true
            stop_qemu
            exit 1
        fi
        sleep "$interval"
    done
}

# ---------------------------------------------------------------------------------------------
# Checks of a built image.

# A production binary is built without the simulator (issue 18): neither the simulator's code
# nor the development password may be linked in (an unstripped binary names every crate it links).
check_production_binary() {
    if grep -aq -e 'wsbmc_sim' -e 'wsbmc-dev' "$1"; then
        echo "FAIL: $1 links the simulator or carries the development password" >&2
        return 1
    fi
    echo "production binary: no simulator, no development password"
}
