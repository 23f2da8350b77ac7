#!/bin/sh
# Installs, with apt-get, whatever pooltop needs to build, test and run that
# this Debian 12 machine does not have yet.  Installs nothing when all is there.
set -eu

PACKAGES="meson ninja-build pkg-config gcc libc6-dev libuv1-dev libncurses-dev
libproc2-dev libinih-dev libcmocka-dev tmux python3 procps"
# Extra packages for the test command: clang's sanitizer runtime and valgrind.
if [ "${1:-}" = "--test" ]; then
	PACKAGES="$PACKAGES clang libclang-rt-14-dev valgrind"
fi

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "setup: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "setup: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
