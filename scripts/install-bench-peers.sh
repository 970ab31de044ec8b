#!/bin/sh
# install-bench-peers.sh: install the peers that `make bench-peers` compares stampede with.
#
# Usage: scripts/install-bench-peers.sh [NPM_DIR]
#   NPM_DIR (or $BENCH_PEERS_NPM_DIR): where autocannon and artillery go, default
#   build/bench-peers-npm (never committed; bench/peers.py looks there by default).
#
# Idempotent: Debian packages are installed only when `dpkg -s` says they are missing
# (one `apt-get update` first, only then); npm packages only when their bin is missing.
# Non-interactive (works with CI=true and no stdin). Needs root for apt-get.
# A failing npm install is reported and does not fail the script: bench/peers.py prints
# "not installed" for those peers and runs the rest.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
npm_dir=${1:-${BENCH_PEERS_NPM_DIR:-$here/build/bench-peers-npm}}

# wrk and nginx-light are also in install-deps.sh (make bench); listed here so this script
# works on its own.
debs="nghttp2-client apache2-utils hey python3-locust nodejs npm wrk nginx-light util-linux"

missing=""
for p in $debs; do
    case $p in
    # A node from elsewhere (e.g. NodeSource's nodejs, which bundles npm and conflicts
    # with Debian's npm) is fine: only the commands matter.
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg -s "$p" >/dev/null 2>&1; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-bench-peers: missing Debian packages:$missing (run as root)" >&2
        exit 1
    fi
    echo "install-bench-peers: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q </dev/null
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing </dev/null
else
    echo "install-bench-peers: Debian packages present"
fi

if [ -x "$npm_dir/node_modules/.bin/autocannon" ] &&
    [ -x "$npm_dir/node_modules/.bin/artillery" ]; then
    echo "install-bench-peers: autocannon and artillery present in $npm_dir"
    exit 0
fi

mkdir -p "$npm_dir"
echo "install-bench-peers: npm install autocannon artillery into $npm_dir"
# Artillery depends on Playwright, whose install step would download a browser: skip it
# (the HTTP engine used here needs none, and only registry packages can be fetched).
# Major versions pinned: bench/peers.py reads their reports (autocannon -j, artillery's
# --output JSON).
if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund \
    --no-update-notifier --loglevel=error --prefix "$npm_dir" autocannon@9 artillery@2 \
    </dev/null; then
    echo "install-bench-peers: warning: npm install failed; bench-peers will skip" \
        "autocannon/artillery" >&2
fi
exit 0
