#!/bin/bash
# build-image.sh: build the stampede container image (Dockerfile) with podman, no Docker
# daemon and no Docker Hub: the two base images (debian:bookworm, debian:bookworm-slim) are
# made here with mmdebstrap from Debian's apt mirror, then `podman build --pull=never`;
# prints the image's sizes (compressed: what a registry stores and a node pulls) and runs
# `stampede --version` in it. `make image` runs it; docs/distributed.md, "Container image".
#
#   scripts/build-image.sh                  # -> localhost/stampede:VERSION
#   STAMPEDE_IMAGE_DIR=DIR                  # podman's storage, config, base and logs (build/image)
#   STAMPEDE_IMAGE_TAG=REGISTRY/stampede:T  # the tag (default localhost/stampede:VERSION)
#   STAMPEDE_IMAGE_SOURCES=FILE|URL         # the apt mirror (default: this host's sources)
#   STAMPEDE_IMAGE_FRESH=1                  # remake the base images (else kept: idempotent)
#
# Run as root it installs what is missing (podman runc mmdebstrap uidmap fuse-overlayfs);
# otherwise they must be there (rootless: mmdebstrap --mode=unshare, /etc/subuid entries).
# runc, not crun: crun refuses hybrid cgroup v1/v2 hosts. Containers use the host's
# network (no bridge or iptables needed), and only the apt mirror is contacted: by
# mmdebstrap and by the Dockerfile's apt-get. The image ends up in DIR/stampede.oci.tar
# too; push it with `podman --root DIR/storage push TAG` or `skopeo copy oci-archive:...`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${STAMPEDE_IMAGE_DIR:-$ROOT/build/image}
VERSION=$(sed -n 's/^#define STAMPEDE_VERSION "\(.*\)"$/\1/p' "$ROOT/src/cli/cli.h")
TAG=${STAMPEDE_IMAGE_TAG:-localhost/stampede:${VERSION:-latest}}
SUITE=bookworm
TOOLS=(podman runc mmdebstrap uidmap fuse-overlayfs)

STEP=start
die() {
	echo "build-image.sh: $*" >&2
	exit 1
}
trap 'rc=$?; [ $rc -eq 0 ] || echo "build-image.sh: FAILED at step \"$STEP\" (exit $rc); logs in $DIR" >&2' EXIT

mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd)
export CONTAINERS_CONF=$DIR/containers.conf
P=(podman --root "$DIR/storage" --runroot "$DIR/run" --storage-driver overlay)

if [ -n "${STAMPEDE_IMAGE_SOURCES:-}" ]; then
	SOURCES=$STAMPEDE_IMAGE_SOURCES
elif [ -s /etc/apt/sources.list.d/debian.sources ]; then
	SOURCES=/etc/apt/sources.list.d/debian.sources
elif [ -s /etc/apt/sources.list ]; then
	SOURCES=/etc/apt/sources.list
else
	SOURCES=http://deb.debian.org/debian
fi

TIMES=()
T0=$(date +%s.%N)
step() { # step NAME CMD...: run it, timed
	local s
	STEP=$1
	shift
	echo "=== $STEP" >&2
	s=$(date +%s.%N)
	"$@"
	TIMES+=("$(printf '%-16s %6.1f s' "$STEP" "$(echo "$(date +%s.%N) - $s" | bc)")")
}

install_tools() {
	local need=() p
	for p in "${TOOLS[@]}" bc gzip; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	if [ ${#need[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "missing packages: ${need[*]} (apt-get install them as root)"
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${need[@]}" || die "cannot install ${need[*]}"
	fi
	echo "$(podman --version), $(runc --version | head -1), $(mmdebstrap --version)"
}

write_conf() {
	# podman's default rlimits (nofile=1048576) fail with EPERM where the hard limit is
	# lower (a container without CAP_SYS_RESOURCE): ask for the hard limits
	local nofile nproc
	nofile=$(ulimit -Hn)
	nproc=$(ulimit -Hu)
	[ "$nofile" = unlimited ] && nofile=1048576
	# (nproc at its hard limit fails here too: runc sets it in a child)
	if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
	cat >"$DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

# The apt configuration of the official Debian images (debuerreotype's docker-*): the
# Dockerfile cleans up after itself too, so its layers do not depend on it.
APT_HOOK='
d="$1/etc/apt/apt.conf.d"
cat > "$d/docker-clean" <<"EOT"
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOT
echo "APT::AutoRemove::SuggestsImportant \"false\";" > "$d/docker-autoremove-suggests"
echo "Acquire::GzipIndexes \"true\";" > "$d/docker-gzip-indexes"
echo "Acquire::Languages \"none\";" > "$d/docker-no-languages"
rm -f "$d/99mmdebstrap"
rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb
'
# what debian:bookworm-slim leaves out (docs, man pages, locales)
SLIM_OPTS=(
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-include=/usr/share/locale/locale.alias'
	--dpkgopt='path-exclude=/usr/share/lintian/*'
)

base_images() {
	local tar=$DIR/$SUITE-slim.tar mode=root
	[ "$(id -u)" = 0 ] || mode=unshare
	if [ "${STAMPEDE_IMAGE_FRESH:-0}" = 1 ] || [ ! -s "$tar" ]; then
		rm -f "$tar" "$tar.tmp"
		# minbase with a merged /usr (as the official images), from the apt mirror
		mmdebstrap --variant=minbase --mode="$mode" --format=tar \
			--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
			--aptopt='APT::Install-Recommends "false"' \
			--customize-hook="$APT_HOOK" "${SLIM_OPTS[@]}" \
			"$SUITE" "$tar.tmp" "$SOURCES" >"$DIR/mmdebstrap.log" 2>&1 ||
			die "mmdebstrap failed (see $DIR/mmdebstrap.log; mirror: $SOURCES)"
		mv "$tar.tmp" "$tar"
		"${P[@]}" rmi -f "localhost/debian:$SUITE" "localhost/debian:$SUITE-slim" \
			>/dev/null 2>&1 || true
	fi
	if ! "${P[@]}" image exists "localhost/debian:$SUITE-slim"; then
		"${P[@]}" import -q --change 'CMD ["bash"]' "$tar" "localhost/debian:$SUITE-slim" >/dev/null
	fi
	# the build stage's debian:bookworm: the same package set as the official one (the
	# slim rootfs lacks only docs, man pages and locales, which a compiler does not need)
	"${P[@]}" tag "localhost/debian:$SUITE-slim" "localhost/debian:$SUITE"
}

build() {
	# --pull=never: the Dockerfile's short names (debian:bookworm) are the local images
	"${P[@]}" build --pull=never --network host --layers -t "$TAG" -f "$ROOT/Dockerfile" \
		"$ROOT" >"$DIR/build.log" 2>&1 || {
		tail -30 "$DIR/build.log" >&2
		die "podman build failed (see $DIR/build.log)"
	}
}

measure() {
	local size gz oci
	size=$("${P[@]}" image inspect "$TAG" --format '{{.Size}}')
	rm -f "$DIR/stampede.oci.tar"
	"${P[@]}" push -q "$TAG" "oci-archive:$DIR/stampede.oci.tar"
	oci=$(stat -c %s "$DIR/stampede.oci.tar")
	gz=$("${P[@]}" save -q "$TAG" | gzip | wc -c)
	{
		echo "image $TAG"
		"${P[@]}" history "$TAG" --format '{{.Size}}\t{{.CreatedBy}}' | cut -c1-100 |
			grep -v '^0 B' | sed 's/^/  layer  /'
		printf '  unpacked:               %6.1f MB\n' "$(echo "$size / 1000000" | bc -l)"
		printf '  compressed (save|gzip): %6.1f MB\n' "$(echo "$gz / 1000000" | bc -l)"
		printf '  oci-archive (gzip layers, a registry push): %6.1f MB  %s\n' \
			"$(echo "$oci / 1000000" | bc -l)" "$DIR/stampede.oci.tar"
		echo "compressed_bytes=$gz unpacked_bytes=$size oci_bytes=$oci"
	} | tee "$DIR/sizes.txt"
}

smoke() {
	local v missing
	v=$("${P[@]}" run --rm "$TAG" --version) || die "stampede --version failed in $TAG"
	echo "$v"
	missing=$("${P[@]}" run --rm --entrypoint sh "$TAG" -c \
		'ldd /usr/local/bin/stampede | grep "not found" || true')
	[ -z "$missing" ] || die "libraries missing in $TAG: $missing"
}

write_conf
step tools install_tools
step base base_images
step build build
step measure measure
step smoke smoke
STEP=done
echo "=== timings"
printf '%s\n' "${TIMES[@]}"
printf '%-16s %6.1f s\n' total "$(echo "$(date +%s.%N) - $T0" | bc)"
