#!/usr/bin/env bash
# make bench: librdkafka against sluice and, in the same run, against
# librdkafka's in-process mock cluster; prints each figure and sluice/mock.
# Then two figures of sluice's own: how late its timers run while every
# produce waits for an fsync (flush.messages=1), from the line it logs at
# a clean shutdown; and producer throughput beside 1,000 idle long-polling
# fetches (bin/sluice-idle-fetch). Figures, not assertions: nothing here can
# fail a build.
#
# Then three brokers (KRaft combined, replication factor 3,
# min.insync.replicas=2) against the mock cluster of 3 with RF 3.
#
# Last, the abuse figures (issue 13, bench/abuse.py): each row of the
# issue's table, slow writers and a connection flood, with a bystander's
# worst ApiVersions wait, peak RSS and peak descriptors beside each.
#
#   bench/run.sh [produce] [consume] [fsync] [idle-fetch] [rf3] [abuse]   (all by default)
#   SLUICE=path/to/sluice bench/run.sh fsync                (another build)
set -uo pipefail
cd "$(dirname "$0")/.."
BENCH=bin/sluice-bench
IDLE=bin/sluice-idle-fetch
SLUICE=${SLUICE:-bin/sluice}
sections=" ${*:-produce consume fsync idle-fetch rf3 abuse} "
want() { [[ $sections == *" $1 "* ]]; }
IDLE_FETCHERS=1000
tmp=$(mktemp -d /tmp/sluice-bench-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# broker_start NAME [--override key=value ...]: a broker with its logs in
# $tmp/NAME; sets port and pid.
broker_start() {
  local name=$1
  shift
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$tmp/$name.properties" <<PROPS
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$tmp/$name
num.partitions=1
PROPS
  "$SLUICE" --config "$tmp/$name.properties" "$@" 2> "$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# trio_start: three KRaft nodes in combined roles (voters 1-3), each
# formatted with sluicectl storage format as an operator does before a first
# start; topics auto-created with replication factor 3 and
# min.insync.replicas=2 (leader-kill's settings). Sets trio_bootstrap and
# trio_pids.
trio_start() {
  local i ports=() cports=() voters=""
  for i in 1 2 3; do
    ports+=("$(free_port)")
    cports+=("$(free_port)")
    voters+="${voters:+,}$i@127.0.0.1:${cports[i - 1]}"
  done
  trio_pids=()
  trio_bootstrap=""
  for i in 1 2 3; do
    cat > "$tmp/r$i.properties" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${ports[i - 1]},CONTROLLER://127.0.0.1:${cports[i - 1]}
advertised.listeners=PLAINTEXT://127.0.0.1:${ports[i - 1]}
controller.listener.names=CONTROLLER
log.dirs=$tmp/r$i
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=true
PROPS
    bin/sluicectl storage format -t MkU3OEVBNTcwNTJENDM2Qg -c "$tmp/r$i.properties" > /dev/null
    "$SLUICE" --config "$tmp/r$i.properties" 2> "$tmp/r$i.log" &
    trio_pids+=($!)
    pids+=($!)
    trio_bootstrap+="${trio_bootstrap:+,}127.0.0.1:${ports[i - 1]}"
  done
}

# broker_stop PID NAME: a clean shutdown (SIGTERM, at most 30 s); sets
# lateness to the "timer lateness: ..." line the broker logged.
broker_stop() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  wait "$1" 2>/dev/null
  lateness=$(grep -o 'timer lateness: .*timers)' "$tmp/$2.log" | tail -1)
}

# idle_start PORT: 1,000 idle long-polling fetches, back once all of them
# have been answered (at most 60 s); idle_stop: their summary line.
idle_start() {
  $IDLE --port "$1" --topic idle --fetchers $IDLE_FETCHERS --max-wait-ms 500 --seconds 600 \
    > "$tmp/idle.out" 2>&1 &
  idle_pid=$!
  pids+=("$idle_pid")
  for _ in $(seq 600); do grep -qs '^ready' "$tmp/idle.out" && break; sleep 0.1; done
}
idle_stop() {
  kill -TERM "$idle_pid" 2>/dev/null
  wait "$idle_pid" 2>/dev/null
  idle_summary=$(grep '^mode=idle-fetch' "$tmp/idle.out")
}

field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<< "$1" | head -1; }
# lateness_field LINE p50|p99|max: microseconds from the broker's line.
lateness_field() { sed -n "s/.*$2 \([0-9]*\) us.*/\1/p" <<< "$1"; }
# Each produce figure is the run with the median throughput of three, so
# one noisy sub-second run does not decide a ratio.
median_of_3() {
  local runs=() i
  for i in 1 2 3; do runs+=("$("$@" --topic "$topic-$i")"); done
  median_line "${runs[@]}"
}
# Sluice's runs start with the page cache written back (sync): a run that
# follows gigabytes of the one before would otherwise wait on the kernel's
# writeback of them (dirty-page throttling), which measures this VM's disk
# and not the broker. The sustained row below measures that on purpose.
settled_median_of_3() {
  local runs=() i
  for i in 1 2 3; do
    sync
    runs+=("$("$@" --topic "$topic-$i")")
  done
  median_line "${runs[@]}"
}
median_line() { printf '%s\n' "$@" | sort -t= -k6 -n | awk 'NR == 2'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

printf '%-40s %14s %14s %14s %8s\n' "figure" "sluice" "mock(1)" "mock(3)" "s/m(1)"
row() { # name sluice mock1 mock3
  printf '%-40s %14s %14s %14s %8s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$3")"
}

broker_start main
main_pid=$pid
main_port=$port
sleep 0.5
idle_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$main_pid/status)

run=0
if want produce; then
  for size in 100 1024; do
    count=$([ $size = 100 ] && echo 500000 || echo 200000)
    for acks in 1 all; do
      run=$((run + 1))
      topic=p$run
      s=$(settled_median_of_3 $BENCH --brokers 127.0.0.1:$main_port --count $count --size $size --acks $acks)
      m1=$(median_of_3 $BENCH --mock 1 --count $count --size $size --acks $acks)
      m3=$(median_of_3 $BENCH --mock 3 --count $count --size $size --acks $acks)
      label="produce ${size}B acks=$acks"
      row "$label msgs/s" "$(field "$s" msgs_per_s)" "$(field "$m1" msgs_per_s)" "$(field "$m3" msgs_per_s)"
      row "$label MB/s" "$(field "$s" mb_per_s)" "$(field "$m1" mb_per_s)" "$(field "$m3" mb_per_s)"
      for p in p50 p99 p999; do
        row "$label ${p} ms" "$(field "$s" ${p}_ms)" "$(field "$m1" ${p}_ms)" "$(field "$m3" ${p}_ms)"
      done
    done
  done
fi
peak_rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$main_pid/status)

# Consume: sized within what the mock keeps per partition (about 5 MiB).
if want consume; then
  for size in 100 1024; do
    count=$([ $size = 100 ] && echo 40000 || echo 4000)
    run=$((run + 1))
    s=$($BENCH --brokers 127.0.0.1:$main_port --topic c$run --mode consume+produce --count $count --size $size | grep consume)
    m1=$($BENCH --mock 1 --topic c$run --mode consume+produce --count $count --size $size | grep consume)
    m3=$($BENCH --mock 3 --topic c$run --mode consume+produce --count $count --size $size | grep consume)
    row "consume ${size}B msgs/s" "$(field "$s" msgs_per_s)" "$(field "$m1" msgs_per_s)" "$(field "$m3" msgs_per_s)"
    row "consume ${size}B MB/s" "$(field "$s" mb_per_s)" "$(field "$m1" mb_per_s)" "$(field "$m3" mb_per_s)"
  done
fi

# Timer lateness under an fsync per produce: a broker of its own with
# log.flush.interval.messages=1, whose timers are the idle fetches' long
# polls (about 2,000 a second), while one producer sends 100-byte records
# in requests of at most 16 KiB (many fsyncs) for 8 seconds.
if want fsync; then
  broker_start flush --override log.flush.interval.messages=1
  flush_pid=$pid
  idle_start "$port"
  s=$($BENCH --brokers 127.0.0.1:$port --topic f1 --count 5000000 --seconds 8 --size 100 \
    --acks 1 --batch-bytes 16384)
  idle_stop
  broker_stop "$flush_pid" flush
  row "produce 100B flush.messages=1 msgs/s" "$(field "$s" msgs_per_s)" "-" "-"
  row "produce 100B flush.messages=1 p99 ms" "$(field "$s" p99_ms)" "-" "-"
  for p in p50 p99 max; do
    row "timer lateness, fsync load ${p} us" "$(lateness_field "$lateness" $p)" "-" "-"
  done
  fsync_lateness=$lateness
fi

# One producer with and without 1,000 idle long-polling fetches beside it
# (on other topics of the main broker, which does not fsync per produce):
# three pairs of runs, each about two seconds (four long-poll rounds),
# alternating so a change in the machine's load hits both sides.
if want idle-fetch; then
  alone_runs=()
  beside_runs=()
  for i in 1 2 3; do
    alone_runs+=("$($BENCH --brokers 127.0.0.1:$main_port --topic i-alone-$i --count 2000000 --size 100 --acks 1)")
    idle_start "$main_port"
    beside_runs+=("$($BENCH --brokers 127.0.0.1:$main_port --topic i-idle-$i --count 2000000 --size 100 --acks 1)")
    idle_stop
  done
  a=$(field "$(median_line "${alone_runs[@]}")" msgs_per_s)
  b=$(field "$(median_line "${beside_runs[@]}")" msgs_per_s)
  row "produce 100B, no idle fetches msgs/s" "$a" "-" "-"
  row "produce 100B, 1000 idle fetches msgs/s" "$b" "-" "-"
  row "1000 idle fetches / none" "$(ratio "$b" "$a")" "-" "-"
fi

broker_stop "$main_pid" main
main_lateness=$lateness

# Three brokers, RF 3, against the mock cluster of 3 (its topics RF 3 too).
# The last column is sluice(3)/mock(3). Each run first has one record
# acknowledged on its new topic (--warmup): a follower's fetcher takes up a
# new partition only when its long poll on the others returns (up to
# replica.fetch.wait.max.ms, 500 ms, as in Kafka), a one-off wait that would
# otherwise sit in front of every record's latency. The mock's topics
# replicate nothing (RF 3 is only in its metadata): it keeps one copy in
# memory where sluice writes three to the page cache on the same cores.
if want rf3; then
  trio_start
  # Waits until all three have registered, so the first topic gets RF 3.
  $BENCH --brokers "$trio_bootstrap" --wait-brokers 3 --topic warm --count 1000 > /dev/null
  echo
  printf '%-40s %14s %14s %14s %8s\n' "figure, 3 brokers RF 3" "sluice(3)" "-" "mock(3)" "s/m(3)"
  row3() { printf '%-40s %14s %14s %14s %8s\n' "$1" "$2" "-" "$3" "$(ratio "$2" "$3")"; }
  for size in 100 1024; do
    count=$([ $size = 100 ] && echo 500000 || echo 200000)
    for acks in all 1; do
      run=$((run + 1))
      topic=r$run
      s=$(settled_median_of_3 $BENCH --brokers "$trio_bootstrap" --warmup 1 --count $count --size $size --acks $acks)
      m3=$(median_of_3 $BENCH --mock 3 --warmup 1 --count $count --size $size --acks $acks)
      label="RF3 produce ${size}B acks=$acks"
      row3 "$label msgs/s" "$(field "$s" msgs_per_s)" "$(field "$m3" msgs_per_s)"
      row3 "$label MB/s" "$(field "$s" mb_per_s)" "$(field "$m3" mb_per_s)"
      for p in p50 p99 p999; do
        row3 "$label ${p} ms" "$(field "$s" ${p}_ms)" "$(field "$m3" ${p}_ms)"
      done
    done
  done
  # Sustained: 1.5 GB in one run, three copies written to this VM's disk
  # (the mock keeps one in memory); past the kernel's dirty-page limit the
  # writeback sets the pace.
  sync
  s=$($BENCH --brokers "$trio_bootstrap" --warmup 1 --topic rs --count 1500000 --size 1024 --acks all)
  m3=$($BENCH --mock 3 --warmup 1 --topic rs --count 1500000 --size 1024 --acks all)
  row3 "RF3 produce 1024B acks=all, 1.5 GB msgs/s" "$(field "$s" msgs_per_s)" "$(field "$m3" msgs_per_s)"
  row3 "RF3 produce 1024B acks=all, 1.5 GB MB/s" "$(field "$s" mb_per_s)" "$(field "$m3" mb_per_s)"
  for size in 100 1024; do
    count=$([ $size = 100 ] && echo 40000 || echo 4000)
    run=$((run + 1))
    s=$($BENCH --brokers "$trio_bootstrap" --topic rc$run --mode consume+produce --count $count --size $size --acks all | grep consume)
    m3=$($BENCH --mock 3 --topic rc$run --mode consume+produce --count $count --size $size --acks all | grep consume)
    row3 "RF3 consume ${size}B msgs/s" "$(field "$s" msgs_per_s)" "$(field "$m3" msgs_per_s)"
    row3 "RF3 consume ${size}B MB/s" "$(field "$s" mb_per_s)" "$(field "$m3" mb_per_s)"
  done
  # Every record is on each node's disk (page cache, Kafka's mode): the
  # three log dirs should hold about the same bytes.
  echo "RF3 log bytes per node: $(for i in 1 2 3; do du -sb "$tmp/r$i" | cut -f1; done | tr '\n' ' ')"
  for i in 1 2 3; do broker_stop "${trio_pids[i - 1]}" r$i; done
fi
echo
echo "sluice RSS: idle $((idle_rss_kb / 1024)) MB, peak while producing $((peak_rss_kb / 1024)) MB"
if want fsync; then echo "flush.messages=1 broker: ${fsync_lateness:-no timer lateness line}"; fi
echo "main broker (no fsync per produce): ${main_lateness:-no timer lateness line}"
if want idle-fetch; then echo "idle fetches: ${idle_summary:-no summary}"; fi
if want abuse; then
  echo
  SLUICE_BIN="$(realpath "$SLUICE")" /usr/bin/python3 bench/abuse.py
fi
