#!/usr/bin/env bash
# What the tests need from the system: Java 17 (PySpark) and Chromium (browser tests).
# As root, installs what is missing with apt-get; otherwise says what to install.
set -euo pipefail

need=()
java_ok() { command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])'; }
java_ok || need+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: Java $(java -version 2>&1 | head -1 | sed 's/.*version "\([^"]*\)".*/\1/'), $(chromium --version 2>/dev/null || chromium-browser --version)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "system deps: installed ${need[*]}"
else
  echo "system deps missing: ${need[*]}"
  echo "  Debian/Ubuntu: sudo apt-get install -y ${need[*]}"
  echo "  macOS: brew install openjdk@17 && brew install --cask chromium"
  echo "Tests that need them are skipped (and fail when CI=true)."
fi
