#!/bin/sh
# run-tests.sh: run the unit tests (Criterion) and the end-to-end tests (pytest).
# Both always run; the exit code is non-zero if either failed. Summaries come last.
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
rc=0
echo "== unit tests (Criterion) =="
"$BUILD/unit_tests" --jobs 2 || rc=1
echo "== end-to-end tests (pytest) =="
STAMPEDE_BIN="$ROOT/$BUILD/stampede" /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider
prc=$?
# pytest's exit 5 means no tests were collected: that is a failure here too.
[ $prc -ne 0 ] && rc=1
exit $rc
