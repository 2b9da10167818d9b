#!/usr/bin/env bash
# System packages the product and its tests need: Pango (PDFs via weasyprint) and, for the
# browser tests, Chromium. Installs them with apt-get when missing and we are root; otherwise
# says what to install.
set -euo pipefail
runtime_only=0
[ "${1:-}" = "--runtime" ] && runtime_only=1

missing=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
if [ "$runtime_only" = 0 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]} — install them (e.g. sudo apt-get install ${missing[*]})." >&2
  [ "$runtime_only" = 1 ] || exit 1
fi
