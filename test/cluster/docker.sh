#!/usr/bin/env bash
# Starts or stops a Docker engine for the kind e2e on a machine without one running (CI: a fresh
# Debian machine where no init system manages services). Needs root.
#   test/cluster/docker.sh start   installs docker.io (Debian) when dockerd is missing, starts
#                                  dockerd in the background unless one answers already; prints
#                                  "started" or "running"
#   test/cluster/docker.sh stop    stops the dockerd this script started (its pid file), if any
set -euo pipefail

STATE="${PORTICO_CACHE:-$HOME/.cache/portico}/dockerd"
PIDFILE="$STATE/dockerd.pid"
mkdir -p "$STATE"

case "${1:-}" in
  start)
    if docker info >/dev/null 2>&1; then
      echo running
      exit 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    fi
    # Debian's package also pulls in the docker CLI; a newer CLI already on PATH talks to it too.
    args=()
    # A bounding set short of the kernel's capabilities (this sandbox withholds CAP_SYS_RESOURCE)
    # makes every --privileged container fail; run them through runc-bounded-caps (see there).
    last="$(cat /proc/sys/kernel/cap_last_cap)"
    bnd="$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)"
    if [ "$((16#$bnd))" -ne "$(((1 << (last + 1)) - 1))" ]; then
      install -m 0755 "$(dirname "$0")/runc-bounded-caps" "$STATE/runc-bounded-caps"
      args+=(--add-runtime "bounded-caps=$STATE/runc-bounded-caps" --default-runtime bounded-caps)
      echo "capability bounding set $bnd lacks some of the kernel's: default runtime bounded-caps" >&2
    fi
    nohup dockerd "${args[@]}" >"$STATE/dockerd.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 120); do
      if docker info >/dev/null 2>&1; then
        echo started
        exit 0
      fi
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
      sleep 0.5
    done
    echo "dockerd did not come up; last lines of $STATE/dockerd.log:" >&2
    tail -20 "$STATE/dockerd.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$PIDFILE" ] || exit 0
    pid="$(cat "$PIDFILE")"
    rm -f "$PIDFILE"
    kill "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || exit 0
      sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
