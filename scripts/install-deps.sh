#!/bin/sh
# install-deps.sh: install the Debian 12 packages that build, tests and bench need (the
# tests' real consumers of the outputs too: jsonschema, xmllint, Prometheus, Chromium,
# HdrHistogram's Java log reader, node/npm for k6-html-reporter).
# Idempotent: does nothing when everything is present; runs apt-get update once otherwise.
set -eu
PKGS="make gcc pkg-config liblua5.4-dev libssl-dev zlib1g-dev libjansson-dev libsqlite3-dev
sqlite3 libgsl-dev libcriterion-dev python3 python3-pytest nginx-light wrk clang libclang-rt-14-dev openssl
liburiparser-dev libc-ares-dev libbrotli-dev libzstd-dev python3-brotli zstd liburing-dev
ca-certificates procps libcurl4-openssl-dev libmicrohttpd-dev linux-perf
libnghttp2-dev libwslay-dev nghttp2-server nghttp2-client python3-websockets python3-h2
python3-pytest-xdist python3-jsonschema python3-yaml python3-scipy libxml2-utils prometheus chromium default-jre-headless libhdrhistogram-java
nodejs"
# npm: Debian's nodejs needs the npm package; a nodejs that ships npm (NodeSource's)
# conflicts with it, so it is asked for only when the command is missing.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# nginx-light's postinst starts the system nginx; we never use it, so keep it from starting.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
	made_policy=1
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -n "$made_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit 0
