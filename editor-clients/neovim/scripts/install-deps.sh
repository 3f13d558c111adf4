#!/usr/bin/env bash
# Installs Neovim (the Debian/Ubuntu package) when `nvim` is not on PATH.
# Idempotent: does nothing when nvim is already there. Needs root or sudo.
set -euo pipefail

if command -v nvim >/dev/null 2>&1; then
  echo "neovim: $(nvim --version | head -n 1) at $(command -v nvim)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "neovim: nvim is missing and apt-get is not available; install Neovim >= 0.7 yourself" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "neovim: installing needs root (or sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends neovim
echo "neovim: installed $(nvim --version | head -n 1)"
