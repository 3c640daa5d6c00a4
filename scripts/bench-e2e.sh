#!/usr/bin/env bash
# bench-e2e.sh — issue 3 §9 end to end: `iisync serve` side by side with the
# simple-hl7 and python3-hl7 peer servers, all driven by the peers' Go load
# client (mllpload), on loopback.
#
#   scripts/bench-e2e.sh            # (make bench-e2e) RUNS x: iisync and simple-hl7
#                                   # with -n N -c 8 -w 1, python3-hl7 with -n PY_N;
#                                   # prints a markdown table and iisync's RSS
#   scripts/bench-e2e.sh ingest     # issue 3's throughput figure: MLLP in -> durable
#                                   # commit (message, indexes, queue item) -> AA, with the
#                                   # destination paused so nothing else runs; RUNS x N
#                                   # with -c 8 -w 1, plus iisync's CPU time per message
#   CHUNKS=10 scripts/bench-e2e.sh grow
#                                   # the store as it grows: CHUNKS x N messages into one
#                                   # store (-c 8 -w 1, destination paused); per chunk
#                                   # msgs/s, CPU µs/msg, garbage collections, live heap
#   RSS_MESSAGES=200000 scripts/bench-e2e.sh rss
#                                   # RSS_MESSAGES through iisync (-c 8 -w 1), then
#                                   # VmRSS / VmHWM and how many messages the store holds
#
# iisync runs as in production: its channel commits every message (fsync)
# before the AA and delivers it from a durable queue to a real peer, a
# python3-hl7 server started here (a second python3-hl7 server is the one
# measured). Between runs the script waits until that delivery queue is
# empty, so the peers are not measured while iisync is still delivering.
#
# Environment: PEERS (default ${IISYNC_PEERS:-/var/tmp/iisync-peers}, installed
# with ../shared/peers/install.sh), RUNS (3), N (20000), PY_N (5000),
# RSS_MESSAGES (200000), DRAIN_TIMEOUT (seconds, 600), CHUNKS (10), GO (go).
# Everything started here is stopped on exit; the scratch directory is removed.
set -euo pipefail

mode=${1:-table}
case "$mode" in
table | rss | ingest | grow) ;;
*)
	echo "usage: $0 [table|rss|ingest|grow]" >&2
	exit 2
	;;
esac

PEERS=${PEERS:-${IISYNC_PEERS:-/var/tmp/iisync-peers}}
RUNS=${RUNS:-3}
N=${N:-20000}
PY_N=${PY_N:-5000}
RSS_MESSAGES=${RSS_MESSAGES:-200000}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-600}
CHUNKS=${CHUNKS:-10}
GO=${GO:-go}
PY=/usr/bin/python3 # Debian's python3, the one python3-hl7 is installed into

cd "$(dirname "$0")/.."

die() {
	echo "bench-e2e: $*" >&2
	exit 2
}

# --- the peers must be there ------------------------------------------------
LOAD=$PEERS/load/mllpload
missing=()
[ -x "$LOAD" ] || missing+=("$LOAD (the Go load client)")
[ -f "$PEERS/simple-hl7/server.js" ] && [ -d "$PEERS/simple-hl7/node_modules/simple-hl7" ] ||
	missing+=("$PEERS/simple-hl7 (server.js + node_modules)")
[ -f "$PEERS/py-hl7/mllp_ack_server.py" ] || missing+=("$PEERS/py-hl7/mllp_ack_server.py")
command -v node >/dev/null || missing+=("node")
{ [ -x "$PY" ] && "$PY" -c 'import hl7' 2>/dev/null; } || missing+=("$PY with python3-hl7 (apt-get install python3-hl7)")
command -v jq >/dev/null || missing+=("jq")
command -v curl >/dev/null || missing+=("curl")
if [ ${#missing[@]} -gt 0 ]; then
	{
		echo "bench-e2e: the MLLP peers are not installed in PEERS=$PEERS. Missing:"
		printf '  - %s\n' "${missing[@]}"
		echo "Install them with: ../shared/peers/install.sh $PEERS   (or point PEERS / IISYNC_PEERS at an install)"
	} >&2
	exit 2
fi

# --- scratch dir and process cleanup ----------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/iisync-bench-e2e.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports, all held open at once so they are distinct.
read -r P_MLLP P_API P_SIMPLE P_PY P_DEST < <("$PY" -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')

# wait_port PORT PID NAME LOG: until PORT accepts; exits with LOG's tail if
# PID died or never listened.
wait_port() {
	for _ in $(seq 200); do
		if ! kill -0 "$2" 2>/dev/null; then
			tail -n 20 "$4" >&2 || true
			die "$3 exited at start-up"
		fi
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	tail -n 20 "$4" >&2 || true
	die "$3 is not listening on 127.0.0.1:$1 after 20s"
}

# --- build and start ----------------------------------------------------------
echo "building bin/iisync ..." >&2
"$GO" build -o bin/iisync ./cmd/iisync

API=http://127.0.0.1:$P_API
cat >"$tmp/iisync.yaml" <<EOF
storage:
  path: $tmp/store
  key_file: $tmp/store.key
security:
  patient_ref_key_file: $tmp/patient-ref.key
  create_keys: true
api:
  addr: 127.0.0.1:$P_API
log:
  level: warn
  format: json
channels:
  - name: bench
    source:
      mllp:
        addr: 127.0.0.1:$P_MLLP
    destinations:
      - name: peer
        paused: $([ "$mode" = ingest ] || [ "$mode" = grow ] && echo true || echo false)
        mllp:
          addr: 127.0.0.1:$P_DEST
EOF

"$PY" "$PEERS/py-hl7/mllp_ack_server.py" --port "$P_DEST" --out "$tmp/delivered.hl7" --quiet 2>"$tmp/py-dest.log" &
pids+=($!)
wait_port "$P_DEST" $! "python3-hl7 (destination)" "$tmp/py-dest.log"

# grow mode counts collections from the runtime's trace (stderr, one line each)
GODEBUG=$([ "$mode" = grow ] && echo gctrace=1) ./bin/iisync serve -c "$tmp/iisync.yaml" >"$tmp/iisync.log" 2>&1 &
IISYNC_PID=$!
pids+=($IISYNC_PID)
wait_port "$P_MLLP" $IISYNC_PID "iisync serve" "$tmp/iisync.log"
for _ in $(seq 100); do curl -fsS "$API/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$API/readyz" >/dev/null || { cat "$tmp/iisync.log" >&2; die "iisync is not ready"; }

if [ "$mode" = table ] || [ "$mode" = ingest ]; then
	node "$PEERS/simple-hl7/server.js" --port "$P_SIMPLE" --out "$tmp/simple.hl7" --quiet 2>"$tmp/simple.log" &
	pids+=($!)
	wait_port "$P_SIMPLE" $! "simple-hl7" "$tmp/simple.log"
	"$PY" "$PEERS/py-hl7/mllp_ack_server.py" --port "$P_PY" --out "$tmp/py.hl7" --quiet 2>"$tmp/py.log" &
	pids+=($!)
	wait_port "$P_PY" $! "python3-hl7" "$tmp/py.log"
fi

# --- helpers -----------------------------------------------------------------
# load LABEL RUN PORT N: one mllpload run, appended to results.jsonl.
load() {
	local out rc=0
	out=$("$LOAD" -addr "127.0.0.1:$3" -n "$4" -c 8 -w 1 -json -timeout 1800s 2>"$tmp/load.err") || rc=$?
	if ! jq -e . >/dev/null 2>&1 <<<"$out"; then
		cat "$tmp/load.err" >&2
		die "mllpload against $1 failed (exit $rc) with no result"
	fi
	jq -c --arg s "$1" --argjson r "$2" '{server: $s, run: $r} + .' <<<"$out" >>"$tmp/results.jsonl"
	jq -r '"  \(.msgs_per_sec | floor) msgs/s, AA \(.aa)/\(.sent), p50 \(.p50_ms) ms, p99 \(.p99_ms) ms"' <<<"$out" |
		sed "s/^/$1 run $2:/" >&2
}

depth() { curl -fsS "$API/api/channels" | jq '[.channels[].destinations[].depth] | add'; }

# drain: wait until iisync's delivery queues are empty; prints the seconds.
drain() {
	local t0=$SECONDS d
	while d=$(depth) && [ "$d" != 0 ]; do
		[ $((SECONDS - t0)) -lt "$DRAIN_TIMEOUT" ] || { echo "timeout(depth $d)"; return; }
		sleep 0.5
	done
	echo $((SECONDS - t0))
}

rss() { awk -v k="$1:" '$1 == k { printf "%.0f MB", $2 / 1024 }' "/proc/$IISYNC_PID/status"; }

# stored: the store's newest message id (ids count up from 1) and the
# received counter from /metrics.
stored() {
	local newest recv
	newest=$(./bin/iisync messages list --api "$API" --limit 1 2>/dev/null | cut -f1)
	recv=$(curl -fsS "$API/metrics" | awk '/^iisync_messages_received_total/ { s += $NF } END { printf "%d", s }')
	echo "newest stored message id $newest; iisync_messages_received_total $recv"
}

hostline() {
	echo "$(nproc) cores, $(uname -sr), $("$GO" env GOVERSION), $(date -u +%Y-%m-%dT%H:%MZ)"
}

# --- rss mode ------------------------------------------------------------------
if [ "$mode" = rss ]; then
	echo "sending $RSS_MESSAGES messages through iisync (-c 8 -w 1) ..." >&2
	load iisync 1 "$P_MLLP" "$RSS_MESSAGES"
	after_rss=$(rss VmRSS) after_hwm=$(rss VmHWM) after_depth=$(depth)
	echo "waiting for deliveries to the python3-hl7 peer (queue depth $after_depth) ..." >&2
	secs=$(drain)
	echo
	echo "### iisync RSS after $RSS_MESSAGES stored messages ($(hostline))"
	echo
	jq -r '"load: \(.sent) sent, \(.aa) AA in \(.seconds | .*10 | floor | ./10) s = \(.msgs_per_sec | floor) msgs/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms"' "$tmp/results.jsonl"
	echo
	echo "| when | VmRSS | VmHWM | delivery queue depth |"
	echo "|---|---:|---:|---:|"
	echo "| right after the load | $after_rss | $after_hwm | $after_depth |"
	case "$secs" in
	timeout*) when="after waiting ${DRAIN_TIMEOUT} s for deliveries (not drained)" ;;
	*) when="after the deliveries drained (${secs} s)" ;;
	esac
	echo "| $when | $(rss VmRSS) | $(rss VmHWM) | $(depth) |"
	echo
	echo "store: $(stored); delivered to the python3-hl7 peer: $(grep -c '^MSH|' "$tmp/delivered.hl7" || true)"
	exit 0
fi

# --- grow mode -----------------------------------------------------------------
if [ "$mode" = grow ]; then
	tick=$(getconf CLK_TCK)
	cpu() { awk '{ print $14 + $15 }' "/proc/$IISYNC_PID/stat"; }
	gcs() { grep -c '^gc ' "$tmp/iisync.log" || true; }
	live() { grep '^gc ' "$tmp/iisync.log" | tail -n 1 | sed -n 's/.*->\([0-9]*\) MB, [0-9]* MB goal.*/\1 MB/p'; }
	rows=()
	for r in $(seq "$CHUNKS"); do
		c0=$(cpu) g0=$(gcs)
		load "iisync serve" "$r" "$P_MLLP" "$N"
		c1=$(cpu) g1=$(gcs)
		rows+=("| $(((r - 1) * N)) | $(jq -r 'select(.run == '"$r"') | .msgs_per_sec | floor' "$tmp/results.jsonl") | $(((c1 - c0) * 1000000 / tick / N)) | $((g1 - g0)) | $(live) | $(rss VmRSS) |")
	done
	echo
	echo "### The store as it grows: $CHUNKS x $N messages into one store, 8 connections (mllpload -c 8 -w 1), destination paused — $(hostline)"
	echo
	echo "| stored before the run | msgs/s | CPU µs/msg | GCs | live heap after the last GC | VmRSS after |"
	echo "|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "VmHWM $(rss VmHWM); store: $(stored)"
	exit 0
fi

# --- ingest mode ---------------------------------------------------------------
if [ "$mode" = ingest ]; then
	tick=$(getconf CLK_TCK)
	cpu() { awk '{ print $14 + $15 }' "/proc/$IISYNC_PID/stat"; }
	cpus=()
	for r in $(seq "$RUNS"); do
		c0=$(cpu)
		load "iisync serve" "$r" "$P_MLLP" "$N"
		c1=$(cpu)
		cpus+=("$(((c1 - c0) * 1000000 / tick / N))" "-")
		load "simple-hl7" "$r" "$P_SIMPLE" "$N" # the machine's state, same minute
	done
	# iisync's rate over simple-hl7's in the same run: the host's speed
	# varies by tens of percent, the ratio much less.
	mapfile -t ratios < <(jq -rs '[range(0; length; 2) as $i | (.[$i].msgs_per_sec / .[$i + 1].msgs_per_sec * 100 | floor / 100 | tostring), "-"] | .[]' "$tmp/results.jsonl")
	echo
	echo "### MLLP in -> durable commit -> AA, destination paused, 8 connections (mllpload -c 8 -w 1) — $(hostline)"
	echo
	echo "| run | server | messages | msgs/s | p50 ms | p99 ms | max ms | AA / sent | CPU µs/msg | iisync ÷ simple-hl7 |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	i=0
	while read -r line; do
		echo "$line | ${cpus[$i]} | ${ratios[$i]} |"
		i=$((i + 1))
	done < <(jq -r '"| \(.run) | \(.server) | \(.sent) | \(.msgs_per_sec | floor) | \(.p50_ms) | \(.p99_ms) | \(.max_ms) | \(.aa) / \(.sent)"' "$tmp/results.jsonl")
	echo
	echo "iisync serve: commit (fsync) of the message, its indexes and its queue item before every AA; simple-hl7 3.3.0 stores nothing"
	echo "store: $(stored); queued for the paused destination: $(depth)"
	exit 0
fi

# --- table mode ----------------------------------------------------------------
drains=()
for r in $(seq "$RUNS"); do
	load "iisync serve" "$r" "$P_MLLP" "$N"
	drains+=("$(drain)")
	load "simple-hl7" "$r" "$P_SIMPLE" "$N"
	load "python3-hl7" "$r" "$P_PY" "$PY_N"
done

echo
echo "### MLLP in -> AA, 8 connections, 1 in flight (mllpload -c 8 -w 1) — $(hostline)"
echo
echo "| run | server | messages | msgs/s | p50 ms | p99 ms | max ms | AA / sent |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
jq -r '"| \(.run) | \(.server) | \(.sent) | \(.msgs_per_sec | floor) | \(.p50_ms) | \(.p99_ms) | \(.max_ms) | \(.aa) / \(.sent) |"' "$tmp/results.jsonl"
echo
echo "iisync serve: commit (fsync) before every AA, one MLLP destination delivering to a python3-hl7 peer;"
echo "seconds until its delivery queue was empty after each run: ${drains[*]}"
echo "iisync RSS after the runs: VmRSS $(rss VmRSS), VmHWM $(rss VmHWM)"
echo "store: $(stored); delivered to the python3-hl7 peer: $(grep -c '^MSH|' "$tmp/delivered.hl7" || true)"
if jq -se 'all(.[]; .aa == .sent and .errors == 0)' "$tmp/results.jsonl" >/dev/null; then
	echo "every message was ACKed AA with a matching MSA-2"
else
	echo "NOT every message was ACKed AA: see the AA / sent column" >&2
	exit 1
fi
