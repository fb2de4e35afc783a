#!/usr/bin/env bash
# Runs every check suite binary given after bin/rankdet and totals check's counts into the
# closing line "tests: N passed, N failed, N skipped" (a skipped test is a GPU test on a machine
# without a GPU: it prints "SKIPPED: ..." and is not counted as passed). Exits
# non-zero if any suite fails.
set -u
export RANKDET_BIN="$1"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"  # sleeping OpenMP threads: steady times on a busy machine
shift
passed=0; failed=0; skipped=0; bad_suites=()
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
  k=$(printf '%s\n' "$out" | grep -c '^SKIPPED: ')
  passed=$((passed + n - f - e - k)); failed=$((failed + f + e)); skipped=$((skipped + k))
  [ "$rc" -ne 0 ] && bad_suites+=("$(basename "$t")")
done
echo
[ ${#bad_suites[@]} -gt 0 ] && echo "failing suites: ${bad_suites[*]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#bad_suites[@]} -eq 0 ]
