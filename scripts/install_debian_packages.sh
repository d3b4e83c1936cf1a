#!/usr/bin/env bash
# Installs the Debian packages huggingtweets uses outside Python:
#   chromium, chromium-driver  the web app's browser tests (Playwright drives /usr/bin/chromium;
#                              `playwright install` would download a browser, which we never do)
#   fonts-dejavu-core, fonts-noto-color-emoji   text and emoji in the preview image
#   redis-server               the queue of the web app's jobs (app --queue, worker); the tests start
#                              their own on 127.0.0.1 (the package's service is not needed)
# Idempotent: does nothing when all are installed. Needs root (or sudo).
set -euo pipefail
packages=(chromium chromium-driver fonts-dejavu-core fonts-noto-color-emoji redis-server)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "install_debian_packages.sh: run as root to install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
