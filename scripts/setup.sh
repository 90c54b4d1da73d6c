#!/usr/bin/env bash
# `npm run setup`: everything the test suite needs on a fresh Debian machine, idempotent (run it any time):
# a C++ toolchain for better-sqlite3, Redis and RabbitMQ (installed when missing, started when down, the
# rabbitmq_management plug-in enabled), the interop peers from Debian (Python Celery 5, oslo.messaging, Pyro4,
# jsonrpclib, cryptography for message signing; XML-RPC is Python's own), Chromium for the dashboard's browser
# test, Graphviz for the graph tests,
# then `npm install`.
# Installing needs root (or sudo); what is already there is left alone. `.ci/run` runs exactly
# `npm run setup && npm test`, the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="__none__"; fi
fi
as_root() {
  if [ "$SUDO" = "__none__" ]; then
    echo "setup: '$*' needs root: run it as root, or install sudo" >&2
    return 1
  fi
  ${SUDO:+$SUDO} "$@"
}

missing=()
need() { missing+=("$@"); }

command -v g++ >/dev/null 2>&1 || need g++ make python3
command -v redis-server >/dev/null 2>&1 || need redis-server
command -v rabbitmq-server >/dev/null 2>&1 || need rabbitmq-server
py() { /usr/bin/python3 -c "$1" >/dev/null 2>&1; }
py 'import celery, redis, amqp' || need python3-celery python3-redis python3-amqp
py 'import oslo_messaging' || need python3-oslo.messaging
py 'import Pyro4' || need python3-pyro4
py 'import msgpack' || need python3-msgpack
py 'import cryptography' || need python3-cryptography
py 'import jsonrpclib' || need python3-jsonrpclib-pelix
# The dashboard's browser test drives Debian's Chromium through playwright-core.
[ -x /usr/bin/chromium ] || need chromium
# `celeriac graph` tests render their DOT with Graphviz.
command -v dot >/dev/null 2>&1 || need graphviz

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "setup: starting redis-server"
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# RabbitMQ (amqp:// broker, oslo.messaging interop): tests make their own vhosts and users with rabbitmqctl.
if ! as_root rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1; then
  echo "setup: starting rabbitmq-server"
  as_root rabbitmq-server -detached || true
  as_root rabbitmqctl -q await_startup --timeout 120 || for _ in $(seq 1 240); do (echo >/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 0.5; done
fi
# The management plug-in lets the amqp:// transport list queues without renewing x-expires leases.
as_root rabbitmq-plugins -q enable rabbitmq_management >/dev/null 2>&1 || echo "setup: warning: could not enable rabbitmq_management" >&2

node --version
npm install --no-audit --no-fund
