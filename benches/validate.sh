#!/usr/bin/env bash
# Benchmark: `payroll validate` of a 100,000-recipient manifest beside python-jsonschema (with
# PyYAML's C loader) checking the same file against the same schema. Prints wall time, CPU time
# (user + system) and peak memory (maximum resident set size) of each, measured by GNU time.
# `payroll validate` does more than the schema check: it also checks every value, parses every
# msisdn and renders every reference and description.
#
# Usage: bash benches/validate.sh [RECIPIENTS]    (needs python3 with jsonschema and PyYAML)
set -euo pipefail

cd "$(dirname "$0")/.."
count="${1:-100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
python3 benches/gen_manifest.py "$work/big.yaml" "$count"
echo "manifest: $count recipients, $(du -h "$work/big.yaml" | cut -f1)"

measure() {
  local label="$1"
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "$label failed:" >&2
    cat "$work/err" >&2
    exit 1
  }
  read -r seconds user system kilobytes <"$work/time"
  cpu="$(echo "$user + $system" | bc -l)"
  printf '%-40s %8.2f s %8.2f s %8.1f MB\n' "$label" "$seconds" "$cpu" \
    "$(echo "$kilobytes / 1024" | bc -l)"
  echo "$seconds" >"$work/$label.seconds"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-40s %10s %10s %11s\n' "check" "wall time" "CPU time" "peak memory"
measure "payroll validate" target/release/payroll validate "$work/big.yaml"
measure "python-jsonschema + PyYAML CSafeLoader" \
  python3 benches/jsonschema_check.py schemas/manifest.schema.json "$work/big.yaml"
ours="$(cat "$work/payroll validate.seconds")"
theirs="$(cat "$work/python-jsonschema + PyYAML CSafeLoader.seconds")"
printf 'speed-up (wall time): %.1fx\n' "$(echo "$theirs / $ours" | bc -l)"
