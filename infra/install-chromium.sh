#!/usr/bin/env bash
# Installs Debian's chromium, which the HTML report's browser test drives through playwright-core
# (playwright's own browser downloads are not used: the machines reach Debian's packages only).
# Idempotent and quiet: does nothing when the browser is already there.
#   bash infra/install-chromium.sh
set -u

CHROMIUM="${TEMPEST_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

fail() {
  echo "install-chromium: $1" >&2
  echo "install-chromium: install it by hand (as root: apt-get update && apt-get install -y chromium)," >&2
  echo "install-chromium: or point TEMPEST_CHROMIUM at an existing Chromium/Chrome binary." >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is not available on this machine."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "$CHROMIUM is missing and installing it needs root (no sudo found)."
  SUDO="sudo -n"
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTIONS=(-qq -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
LOG="$(mktemp -t install-chromium.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

# Try without refreshing the package lists first; refresh once if the package is not found.
if ! $SUDO apt-get install -y --no-install-recommends "${APT_OPTIONS[@]}" chromium >"$LOG" 2>&1; then
  if ! $SUDO apt-get update "${APT_OPTIONS[@]}" >>"$LOG" 2>&1 ||
    ! $SUDO apt-get install -y --no-install-recommends "${APT_OPTIONS[@]}" chromium >>"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    fail "apt-get could not install chromium (output above)."
  fi
fi

[ -x "$CHROMIUM" ] || fail "apt-get finished but $CHROMIUM is still missing."
echo "install-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) at $CHROMIUM"
