#!/usr/bin/env bash
# Time from process start to /readyz 200 on SQLite, first start (empty folder) and second start.
# Usage: scripts/measure-startup.sh path/to/tessera   (PORT=18089 by default; needs curl)
B=$1; dir=$(mktemp -d); cd "$dir"
measure() {
  local start=$(date +%s%N)
  $B serve --listen 127.0.0.1:${PORT:-18089} 2>/dev/null &
  local pid=$!
  until curl -sf -o /dev/null http://127.0.0.1:${PORT:-18089}/readyz; do sleep 0.002; done
  local end=$(date +%s%N)
  echo "$1: $(( (end - start) / 1000000 )) ms"
  sleep 2
  echo "$1 idle RSS: $(grep VmRSS /proc/$pid/status)"
  kill -TERM $pid; wait $pid; echo "exit $?"
}
measure first; measure second
