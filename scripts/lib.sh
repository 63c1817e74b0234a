# Shared by the scripts: find Python 3.11+, install uv when missing, sync the locked environment.
# Sourced, not run.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$(pwd)
export UV_PYTHON_DOWNLOADS=${UV_PYTHON_DOWNLOADS:-never}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$ROOT/.data/run}

find_python() {
  local candidate
  for candidate in python3 python3.13 python3.12 python3.11 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$(command -v "$candidate")
      return 0
    fi
  done
  echo "Emporium needs Python 3.11 or newer on PATH." >&2
  exit 1
}

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then
    UV=$(command -v uv)
    return 0
  fi
  UV="$ROOT/.data/tools/bin/uv"
  [ -x "$UV" ] && return 0
  echo "uv is not installed: installing it into .data/tools (from PyPI)" >&2
  mkdir -p "$ROOT/.data"
  if "$PYTHON" -m venv "$ROOT/.data/tools" >/dev/null 2>&1; then
    "$ROOT/.data/tools/bin/python" -m pip install --quiet --disable-pip-version-check uv
  else
    # No venv module (Debian without python3-venv): a user install, as PEP 668 allows for tools.
    "$PYTHON" -m pip install --quiet --user uv ||
      "$PYTHON" -m pip install --quiet --user --break-system-packages uv
    UV="$("$PYTHON" -m site --user-base)/bin/uv"
  fi
  [ -x "$UV" ] || { echo "could not install uv" >&2; exit 1; }
}

sync_env() {
  find_python
  PY="$ROOT/.venv/bin/python"
  # uv sync checks every installed file (about 3 s here): skip it while the lock, pyproject.toml
  # and the interpreter are those of the last successful sync.
  local stamp="$ROOT/.venv/.emporium-synced" want
  want="$(cat "$ROOT/uv.lock" "$ROOT/pyproject.toml" | cksum) $("$PYTHON" -VV 2>&1 | cksum)"
  if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  ensure_uv
  "$UV" sync --frozen --quiet --python "$PYTHON"
  echo "$want" >"$stamp"
}
