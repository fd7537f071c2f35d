#!/usr/bin/env bash
# A new user's first run, timed: fresh clone -> `make demo` -> the first question answered through the
# chat's API; with --test, also `make test` on another fresh clone.  Prints the figures, the longest
# silence in the demo's output, and the size of the venv each command installs.
# Usage: bash bench/first_run.sh [--test]   (uses port $PORT, default 7860; pip's cache as it is)
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-7860}
WORK=$(mktemp -d)
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }

git clone -q "$REPO" "$WORK/demo" && cd "$WORK/demo"
sed -i "s/policy-rag serve$/policy-rag serve --port $PORT/" Makefile
export -f stamp
start=$(date +%s.%N)
setsid bash -c "make demo 2>&1 | stamp" > "$WORK/demo.log" 2>&1 &
DEMO=$!
answered=""
for _ in $(seq 1 900); do
  if ! kill -0 "$DEMO" 2>/dev/null; then echo "make demo exited early:"; tail -20 "$WORK/demo.log"; exit 1; fi
  if curl -sf "http://127.0.0.1:$PORT/" >/dev/null 2>&1; then
    answered=$(.venv/bin/python - "$PORT" <<'PY'
import sys
from gradio_client import Client
client = Client(f"http://127.0.0.1:{sys.argv[1]}/", verbose=False)
out = client.predict("杭州的算力券一年最多能给一家企业补多少钱？", [], "全部", "全部", "全部", api_name="/chat")
chat = out[0] if isinstance(out, (list, tuple)) else out
print("800万元" in str(chat[-1]["content"]))
PY
)
    break
  fi
  sleep 1
done
end=$(date +%s.%N)
kill -- -"$DEMO" 2>/dev/null; pkill -f "policy-rag serve --port $PORT" 2>/dev/null
python3 - "$WORK/demo.log" "$start" "$end" "$answered" <<'PY'
import sys
lines = [l.split(" ", 1) for l in open(sys.argv[1], encoding="utf-8", errors="replace") if " " in l]
times = [float(sys.argv[2])] + [float(t) for t, _ in lines if t.replace(".", "").isdigit()]
gaps = [(b - a, i) for i, (a, b) in enumerate(zip(times, times[1:]))]
gap, at = max(gaps) if gaps else (0.0, 0)
after = lines[at - 1][1].strip() if at > 0 else "(start)"
print(f"make demo: fresh clone -> first answered question in {float(sys.argv[3]) - float(sys.argv[2]):.1f} s "
      f"(answer holds 800万元: {sys.argv[4] or 'not asked'})")
print(f"longest silence in its output: {gap:.1f} s, after: {after[:100]}")
PY
echo "venv of make demo: $(du -sh .venv | cut -f1)"

if [ "${1:-}" = "--test" ]; then
  git clone -q "$REPO" "$WORK/test" && cd "$WORK/test"
  t0=$(date +%s)
  make test > "$WORK/test.log" 2>&1; rc=$?
  echo "make test: exit $rc in $(( $(date +%s) - t0 )) s; $(grep -E '[0-9]+ passed' "$WORK/test.log" | tail -1)"
  grep -A6 "slowest" "$WORK/test.log" | tail -6
  echo "venv of make test: $(du -sh .venv | cut -f1)"
fi
rm -rf "$WORK"
