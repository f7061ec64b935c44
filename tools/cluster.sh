#!/usr/bin/env bash
# make cluster / make cluster-stop: our users' three-broker KRaft cluster on
# this machine, in combined mode, with their layout: clients on 9092-9094,
# controllers on 10092-10094, data under $CLUSTER_DIR/data/brokerN, then
# test-topic (6 partitions, replication factor 3, gzip) and both web apps
# (8001, 8002). Logs and pids live in $CLUSTER_DIR (default ./cluster).
#
#   tools/cluster.sh start | stop | status
#
# Settings (environment): CLUSTER_DIR, CLUSTER_CLIENT_PORT (9092; the
# brokers take it and the next two), CLUSTER_CONTROLLER_PORT (10092),
# CLUSTER_PRODUCER_PORT (8001), CLUSTER_CONSUMER_PORT (8002),
# CLUSTER_METRICS_PORT (9401: the brokers' Prometheus endpoints, and the
# next two).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${CLUSTER_DIR:-$ROOT/cluster}
CLIENT=${CLUSTER_CLIENT_PORT:-9092}
CONTROLLER=${CLUSTER_CONTROLLER_PORT:-10092}
PRODUCER_PORT=${CLUSTER_PRODUCER_PORT:-8001}
CONSUMER_PORT=${CLUSTER_CONSUMER_PORT:-8002}
METRICS=${CLUSTER_METRICS_PORT:-9401} # each broker's Prometheus endpoint: 9401-9403
NODES=(1 2 3)
WAIT_ROUNDS=2400 # x 25 ms: a guard against a hang, not a speed target

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port, what
  for ((i = 0; i < WAIT_ROUNDS; i++)); do
    port_open "$1" && return 0
    sleep 0.025
  done
  echo "cluster: $2 did not open port $1; see $DIR/logs" >&2
  return 1
}

bootstrap() { echo "localhost:$CLIENT,localhost:$((CLIENT + 1)),localhost:$((CLIENT + 2))"; }

write_config() { # node id
  local n=$1 voters="1@localhost:$CONTROLLER,2@localhost:$((CONTROLLER + 1)),3@localhost:$((CONTROLLER + 2))"
  cat > "$DIR/config/server-broker$n.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://localhost:$((CLIENT + n - 1)),CONTROLLER://localhost:$((CONTROLLER + n - 1))
advertised.listeners=PLAINTEXT://localhost:$((CLIENT + n - 1))
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data/broker$n
num.partitions=6
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
log.retention.hours=168
log.retention.bytes=1073741824
compression.type=gzip
sluice.metrics.listener=localhost:$((METRICS + n - 1))
PROPS
}

start_process() { # name, command...
  local name=$1
  shift
  if [ -f "$DIR/pids/$name" ] && kill -0 "$(cat "$DIR/pids/$name")" 2>/dev/null; then
    echo "cluster: $name already runs (pid $(cat "$DIR/pids/$name"))"
    return 0
  fi
  nohup "$@" >> "$DIR/logs/$name.log" 2>&1 &
  echo $! > "$DIR/pids/$name"
}

start() {
  mkdir -p "$DIR/config" "$DIR/data" "$DIR/logs" "$DIR/pids"
  [ -f "$DIR/cluster.id" ] || bin/sluicectl storage random-uuid > "$DIR/cluster.id"
  for n in "${NODES[@]}"; do
    write_config "$n"
    bin/sluicectl storage format -t "$(cat "$DIR/cluster.id")" -c "$DIR/config/server-broker$n.properties" \
      --ignore-formatted > /dev/null
  done
  for n in "${NODES[@]}"; do
    start_process "broker$n" "$ROOT/bin/sluice" --config "$DIR/config/server-broker$n.properties"
  done
  for n in "${NODES[@]}"; do wait_port $((CLIENT + n - 1)) "broker$n"; done
  bin/sluicectl topics --bootstrap-server "$(bootstrap)" --create --if-not-exists --topic test-topic \
    --partitions 6 --replication-factor 3 --config compression.type=gzip
  (cd "$DIR" && start_process producer-app "$ROOT/bin/sluice-producer-app" --bootstrap-server "$(bootstrap)" \
    --port "$PRODUCER_PORT")
  (cd "$DIR" && start_process consumer-app "$ROOT/bin/sluice-consumer-app" --bootstrap-server "$(bootstrap)" \
    --port "$CONSUMER_PORT")
  wait_port "$PRODUCER_PORT" producer-app
  wait_port "$CONSUMER_PORT" consumer-app
  cat <<INFO
cluster: 3 brokers at $(bootstrap) (controllers on $CONTROLLER-$((CONTROLLER + 2))), cluster id $(cat "$DIR/cluster.id")
cluster: producer app http://localhost:$PRODUCER_PORT/send, consumer app http://localhost:$CONSUMER_PORT/
cluster: broker metrics http://localhost:$METRICS/metrics ($METRICS-$((METRICS + 2)))
cluster: data, logs and pids under $DIR; stop with make cluster-stop
INFO
}

# SIGTERM the apps and wait (the consumer app commits and leaves its group
# while the brokers are still there), then the brokers together (a
# quorum's last voters stopped one by one would wait for a controller that
# is gone).
stop_group() { # names...
  local pids=()
  for name in "$@"; do
    local f="$DIR/pids/$name"
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" && pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    local i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt $WAIT_ROUNDS ]; do
      sleep 0.025
      i=$((i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster: pid $pid ignored SIGTERM for a minute; killing it" >&2
      kill -KILL "$pid"
    fi
  done
  STOPPED=$((STOPPED + ${#pids[@]}))
}

stop() {
  [ -d "$DIR/pids" ] || { echo "cluster: nothing runs ($DIR/pids is missing)"; return 0; }
  STOPPED=0
  stop_group producer-app consumer-app
  stop_group broker1 broker2 broker3
  echo "cluster: stopped $STOPPED processes; data kept under $DIR/data"
}

status() {
  for name in broker1 broker2 broker3 producer-app consumer-app; do
    local f="$DIR/pids/$name" state="stopped"
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && state="running (pid $(cat "$f"))"
    echo "$name: $state"
  done
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
