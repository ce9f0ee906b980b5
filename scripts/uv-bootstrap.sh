# Sourced by the other scripts: puts uv on PATH, installing it from PyPI when missing.
if ! command -v uv >/dev/null 2>&1; then
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: installing it with pip (python3 -m pip install --user uv)" >&2
    python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
  fi
fi
