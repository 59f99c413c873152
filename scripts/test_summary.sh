#!/usr/bin/env bash
# scripts/test_summary.sh [LOG...] — print "N passed, N failed[, N skipped]" from `deno test` output.
# Sums every Deno summary line in the input (files, or stdin when none), e.g.
#   ok | 12 passed (3 steps) | 0 failed | 1 ignored (2s)
#   FAILED | 3 passed | 2 failed (1s)
# ANSI colour codes are ignored. With no summary line at all (the run died before testing,
# e.g. a type error) it prints "0 passed, 0 failed" and exits 1; otherwise exits 0.
set -euo pipefail
awk '
  { gsub(/\033\[[0-9;]*[A-Za-z]/, ""); sub(/\r$/, "") }
  /^(ok|FAILED) \| [0-9]+ passed/ {
    found = 1
    n = split($0, field, "|")
    for (i = 2; i <= n; i++) {
      f = field[i]; sub(/^ +/, "", f)
      if (f ~ /^[0-9]+ passed/) passed += f + 0
      else if (f ~ /^[0-9]+ failed/) failed += f + 0
      else if (f ~ /^[0-9]+ ignored/) ignored += f + 0
    }
  }
  END {
    if (ignored > 0) printf "%d passed, %d failed, %d skipped\n", passed, failed, ignored
    else printf "%d passed, %d failed\n", passed, failed
    exit found ? 0 : 1
  }
' "$@"
