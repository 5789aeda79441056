#!/usr/bin/env bash
# Install scenegen into ./.venv, with the system libraries headless rendering needs.
#   bash scripts/setup.sh          scenegen and its dependencies
#   bash scripts/setup.sh --test   also the test tools (pytest, pycocotools, ruff)
#   add --latest                   the newest versions pyproject.toml allows instead of the tested set
# Installs the tested versions in constraints.txt. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
constraints=(-c constraints.txt)
for arg in "$@"; do
  case "$arg" in
    --test) extras="[test]" ;;
    --latest) constraints=() ;;
    *) echo "setup: unknown option $arg (use --test and/or --latest)" >&2; exit 2 ;;
  esac
done

# Mesa EGL (GPU or llvmpipe on CPU), OSMesa (the fallback), and what opencv-python links against.
apt_packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0 libosmesa6 libgl1 libglib2.0-0)
python3 -c "import ensurepip, venv" 2>/dev/null || apt_packages+=(python3-venv)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: as root, run: apt-get install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q ${constraints[@]+"${constraints[@]}"} -e ".${extras}"
.venv/bin/python -m pip check
echo "setup: scenegen installed in $(pwd)/.venv (run .venv/bin/scenegen --help)"
