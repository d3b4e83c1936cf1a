#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver for the web app's browser tests (Playwright drives
# /usr/bin/chromium; `playwright install` would download a browser, which this machine cannot).
# Idempotent: does nothing when both are already there. Needs root (or sudo).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "install_browser.sh: run as root to install chromium and chromium-driver" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium chromium-driver
