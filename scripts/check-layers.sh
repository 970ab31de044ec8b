#!/bin/sh
# check-layers.sh: the dependency rule of docs/ARCHITECTURE.md ("Layers"), from the
# #include lines of src/:
#   output/ (and the later analysis/, history/, profile/) include only result/result.h,
#           metrics/hdr.h, output/*.h and util/*.h;
#   demo/ includes only demo/*.h and util/*.h;
#   engine/ includes neither output/ nor cli/; nothing below cli/ includes cli/.
# Prints each violation as FILE:LINE: message and exits 1 if there is any.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/src" || exit 2
bad=0
# rule DIR ALLOWED-REGEX WHAT
rule() {
	dir=$1 allowed=$2 what=$3
	[ -d "$dir" ] || return 0
	# project headers are included with quotes ("dir/file.h"); system ones with <...>
	out=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir"/*.c "$dir"/*.h \
		2>/dev/null | grep -v -E "#[[:space:]]*include[[:space:]]*\"($allowed)\"")
	if [ -n "$out" ]; then
		echo "$out" | sed "s|^|src/|; s|\$|  <- $what|"
		bad=1
	fi
}
rule output 'result/result\.h|metrics/hdr\.h|output/[a-z0-9_]+\.h|util/[a-z0-9_]+\.h' \
	"output/ may include only result/result.h, metrics/hdr.h, output/ and util/"
for d in analysis history profile; do
	rule "$d" "result/result\\.h|metrics/hdr\\.h|util/[a-z0-9_]+\\.h|$d/[a-z0-9_]+\\.h" \
		"$d/ may include only result/result.h, metrics/hdr.h, util/ and $d/"
done
rule demo 'demo/[a-z0-9_]+\.h|util/[a-z0-9_]+\.h' "demo/ may include only demo/ and util/"
for d in engine metrics protocol result script util demo output; do
	rule "$d" '([^c]|c[^l]|cl[^i]|cli[^/])[^"]*' "nothing below cli/ includes cli/"
done
rule engine '([^o]|o[^u]|ou[^t]|out[^p])[^"]*' "engine/ does not include output/"
[ $bad -eq 0 ] && echo "layers: the dependency rule holds"
exit $bad
