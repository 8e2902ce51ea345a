#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/browser, Playwright drives it: no browser download).
# Best effort: without root or apt-get it says so and the browser tests skip (they fail under CI=true).
set -u
for candidate in "${RELANCE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -n "$candidate" ] && [ -x "$candidate" ] && exit 0
done
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "note: chromium not installed (needs root and apt-get): the browser tests will skip"; exit 0
fi
echo "installing chromium (Debian package) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null 2>&1 \
       && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; } \
  || echo "note: could not install chromium: the browser tests will skip (and fail under CI=true)"
exit 0
