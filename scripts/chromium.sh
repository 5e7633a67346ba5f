#!/usr/bin/env bash
# Makes sure Debian's chromium is installed, for the status page's browser
# test (internal/httpd, TestStatusPageInBrowser). Installs it with apt-get
# when running as root and it is missing: a one-time cost of about a
# minute; afterwards this returns at once. Where it cannot install (not
# root, no apt-get, no network), it says why and exits 1: the test then
# skips, saying so.
set -uo pipefail
for b in chromium chromium-browser; do
	if command -v "$b" >/dev/null 2>&1; then
		exit 0
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "chromium.sh: chromium is not installed and this is not root: the browser test will skip (apt-get install chromium to run it)" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "chromium.sh: chromium is not installed and there is no apt-get: the browser test will skip" >&2
	exit 1
fi
echo "chromium.sh: installing Debian's chromium for the status page's browser test (once)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
	apt-get update >/dev/null 2>&1
	if ! apt-get install -y --no-install-recommends chromium >/dev/null; then
		echo "chromium.sh: apt-get install chromium failed: the browser test will skip" >&2
		exit 1
	fi
fi
