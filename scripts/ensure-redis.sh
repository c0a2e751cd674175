#!/bin/sh
# Make sure a redis-server binary is available (tests and `make run` start their own on a free port).
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
echo "redis-server not found; installing it" >&2
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null && exit 0
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null && exit 0
elif command -v brew >/dev/null 2>&1; then
    brew install redis && exit 0
fi
echo "previewbot: please install redis-server (e.g. apt-get install redis-server or brew install redis)" >&2
exit 1
