#!/usr/bin/env bash
# Debian packages Relance uses when present: best effort, never fails the build.
#  - libharfbuzz-subset0: WeasyPrint subsets fonts with it (about 3x faster PDFs than fontTools).
# WeasyPrint's own needs (pango, harfbuzz, fontconfig) are on Debian's python images already.
set -u
wanted=()
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || wanted+=(libharfbuzz-subset0)
[ ${#wanted[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "note: not installed (needs root and apt-get): ${wanted[*]}"; exit 0
fi
apt-get install -y -qq "${wanted[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${wanted[@]}" >/dev/null 2>&1; } \
  || echo "note: could not install ${wanted[*]} (PDFs will be slower)"
exit 0
