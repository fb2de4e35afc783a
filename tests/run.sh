#!/usr/bin/env bash
# Runs every check suite binary given after bin/rankdet and totals check's counts into the
# closing line "tests: N passed, N failed". Exits non-zero if any suite fails.
set -u
export RANKDET_BIN="$1"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"  # sleeping OpenMP threads: steady times on a busy machine
shift
passed=0; failed=0; bad_suites=()
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | sed "s|^|[$(basename "$t")] |"
  line=$(printf '%s\n' "$out" | grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' | tail -n 1)
  if [ -z "$line" ]; then
    failed=$((failed + 1)); bad_suites+=("$(basename "$t") (no check summary, exit $rc)"); continue
  fi
  n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
  f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
  e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + n - f - e)); failed=$((failed + f + e))
  [ "$rc" -ne 0 ] && bad_suites+=("$(basename "$t")")
done
echo
[ ${#bad_suites[@]} -gt 0 ] && echo "failing suites: ${bad_suites[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#bad_suites[@]} -eq 0 ]
