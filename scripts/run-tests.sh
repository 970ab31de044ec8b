#!/bin/sh
# run-tests.sh: the layers' dependency rule, a short fuzz run, the unit tests (Criterion), then the end-to-end tests
# (pytest). Everything runs; the exit code is non-zero if anything failed. The runners'
# summary lines come last.
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
rc=0

echo "== layers (docs/ARCHITECTURE.md) =="
./scripts/check-layers.sh || rc=1

echo "== fuzzers (${FUZZ_SECONDS}s each, two at a time) =="
if make --no-print-directory -s -j2 fuzz-build BUILD="$BUILD" >/dev/null; then
	# each fuzzer in the background, two at a time (2 cores); its exit code in NAME.rc
	running=0
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		mkdir -p "$BUILD/fuzz/corpus-$name"
		("$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$BUILD/fuzz/corpus-$name" \
			"tests/fuzz/seeds/$name" >"$BUILD/fuzz/$name.log" 2>&1
		echo $? >"$BUILD/fuzz/$name.rc") &
		running=$((running + 1))
		if [ "$running" -ge 2 ]; then
			wait
			running=0
		fi
	done
	wait
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		if [ "$(cat "$BUILD/fuzz/$name.rc" 2>/dev/null)" = 0 ]; then
			echo "fuzz: $name: $(grep -o 'stat::number_of_executed_units: [0-9]*' \
				"$BUILD/fuzz/$name.log" | awk '{print $2}') runs, no crash"
		else
			echo "fuzz: $name: FAILED (see $BUILD/fuzz/$name.log)"
			tail -30 "$BUILD/fuzz/$name.log"
			rc=1
		fi
	done
else
	echo "fuzz: could not build the fuzzers"
	rc=1
fi

echo "== unit tests (Criterion) =="
log="$BUILD/unit-tests.log"
"$BUILD/unit_tests" --jobs 2 2>&1 | tee "$log"
[ "$(tail -1 "$log" | grep -c 'Failing: 0 | Crashing: 0')" = 1 ] || rc=1
# Criterion runs each test in a child whose sanitizer reports do not fail the test.
if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$log"; then
	echo "unit tests: sanitizer reports above"
	rc=1
fi

# End-to-end tests in two pytest runs: first every test not marked `serial`, E2E_JOBS at a
# time (pytest-xdist; most of them wait on fixed-duration runs at low rates; --dist loadfile
# keeps a module on one worker so its module-scoped servers start once), then the `serial`
# ones (capacity, rates, CPU%: tests/e2e/conftest.py SERIAL_MODULES) alone, one at a time.
# Without pytest-xdist the first run goes one at a time too.
E2E_JOBS=${E2E_JOBS:-6}
PYTEST="/usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider"
export STAMPEDE_BIN="$ROOT/$BUILD/stampede"
jobs=""
if /usr/bin/python3 -c "import xdist" 2>/dev/null; then
	jobs="-n $E2E_JOBS --dist loadfile"
else
	echo "e2e: pytest-xdist missing (scripts/install-deps.sh); the parallel part runs serially"
fi
echo "== end-to-end tests (pytest), parallel part: -m 'not serial' $jobs =="
# shellcheck disable=SC2086
{
	$PYTEST $jobs -m "not serial" --durations=12 2>&1
	echo $? >"$BUILD/e2e-parallel.rc"
} | tee "$BUILD/e2e-parallel.log"
[ "$(cat "$BUILD/e2e-parallel.rc")" = 0 ] || rc=1
echo "== end-to-end tests (pytest), serial part: -m serial =="
{
	$PYTEST -m serial --durations=12 2>&1
	echo $? >"$BUILD/e2e-serial.rc"
} | tee "$BUILD/e2e-serial.log"
[ "$(cat "$BUILD/e2e-serial.rc")" = 0 ] || rc=1

echo "== summary =="
echo "unit tests:        $(tail -1 "$log")"
echo "e2e, parallel:     $(tail -1 "$BUILD/e2e-parallel.log")"
echo "e2e, serial:       $(tail -1 "$BUILD/e2e-serial.log")"
exit $rc
