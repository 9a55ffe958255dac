#!/usr/bin/env bash
# Installs what the ledger needs on a fresh Debian machine: liblmdb-dev (and lmdb-utils for the
# stock mdb_* tools). Safe to run again.
set -euo pipefail
missing=()
dpkg -s liblmdb-dev >/dev/null 2>&1 || missing+=(liblmdb-dev)
dpkg -s lmdb-utils >/dev/null 2>&1 || missing+=(lmdb-utils)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
