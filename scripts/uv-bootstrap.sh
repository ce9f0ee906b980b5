# Sourced by the other scripts: puts uv on PATH, installing it from PyPI when it is missing.
export PATH="$HOME/.local/bin:$HOME/.local/share/connector-uv/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "uv not found: installing it from PyPI" >&2
  python3 -m pip install --quiet --user uv 2>/dev/null \
    || python3 -m pip install --quiet uv 2>/dev/null \
    || { python3 -m venv "$HOME/.local/share/connector-uv" \
         && "$HOME/.local/share/connector-uv/bin/pip" install --quiet uv; }
  hash -r
  command -v uv >/dev/null 2>&1 || { echo "FATAL: could not install uv with pip" >&2; exit 1; }
fi
# PYTHONDONTWRITEBYTECODE is set on these machines: compile bytecode once, at install time.
export UV_COMPILE_BYTECODE=1
