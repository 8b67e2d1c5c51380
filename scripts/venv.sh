# Shared by scripts/serve and scripts/test: create .venv and (re)install when pyproject changes.
ensure_venv() {
  local extra="$1" stamp=".venv/.installed${1:+-dev}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extra}"
    touch "$stamp"
    [ -n "$extra" ] && touch .venv/.installed
  fi
  return 0
}
