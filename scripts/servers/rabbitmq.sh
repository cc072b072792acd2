#!/usr/bin/env bash
# A throwaway RabbitMQ broker on 127.0.0.1 for tests and local runs (no systemd, as root).
#   rabbitmq.sh start DIR PORT   starts it with all state under DIR and waits until it is ready
#   rabbitmq.sh ctl DIR ARGS...  runs rabbitmqctl against it (e.g. add_vhost v1)
#   rabbitmq.sh stop DIR         shuts it down and stops its epmd
# Facts (shared/docs/architecture.md): as root, use /usr/lib/rabbitmq/bin/* directly (the
# /usr/sbin wrappers switch user); every path and port comes from the environment.
set -euo pipefail
bin=/usr/lib/rabbitmq/bin
cmd="${1:?start|ctl|stop}"; dir="${2:?state folder}"
case "$cmd" in
  start)
    port="${3:?port}"
    mkdir -p "$dir"/{home,mnesia,log}
    dir="$(cd "$dir" && pwd)"
    # Distribution and epmd ports next to the AMQP port, so parallel brokers never share one.
    cat > "$dir/env.sh" <<ENV
export HOME="$dir/home"
export RABBITMQ_NODENAME="rabbit$port@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$((port + 20000 > 65000 ? port - 20000 : port + 20000))
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=$((port + 21000 > 65000 ? port - 21000 : port + 21000))
ENV
    printf 'listeners.tcp.default = 127.0.0.1:%s\nlog.console = false\n' "$port" > "$dir/rabbitmq.conf"
    echo '[].' > "$dir/enabled_plugins"
    # shellcheck disable=SC1091
    source "$dir/env.sh"
    setsid "$bin/rabbitmq-server" > "$dir/server.out" 2>&1 < /dev/null &
    echo $! > "$dir/launcher.pid"
    "$bin/rabbitmq-diagnostics" wait "$RABBITMQ_PID_FILE" --timeout 90 > "$dir/wait.out" 2>&1 || { cat "$dir/wait.out" "$dir/server.out" >&2; exit 1; }
    echo "rabbitmq ready: amqp://guest:guest@127.0.0.1:$port/"
    ;;
  ctl)
    # shellcheck disable=SC1091
    source "$dir/env.sh"
    shift 2
    "$bin/rabbitmqctl" "$@"
    ;;
  stop)
    [[ -f "$dir/env.sh" ]] || exit 0
    # shellcheck disable=SC1091
    source "$dir/env.sh"
    "$bin/rabbitmqctl" shutdown > /dev/null 2>&1 || true
    epmd -port "$ERL_EPMD_PORT" -kill > /dev/null 2>&1 || true
    if [[ -f "$dir/launcher.pid" ]]; then kill "$(cat "$dir/launcher.pid")" 2>/dev/null || true; fi
    ;;
  *) echo "usage: $0 start DIR PORT | ctl DIR ARGS | stop DIR" >&2; exit 2 ;;
esac
