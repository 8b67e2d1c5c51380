# Shared by scripts/serve and scripts/test: create .venv and (re)install when pyproject changes.
ensure_venv() {
  local extra="$1" stamp=".venv/.installed${1:+-dev}"
  # What it is doing goes to stderr: the first run takes a minute or two, and silence
  # for that long looks like a hang.
  if [ ! -x .venv/bin/python ]; then
    echo "deskbot: first run: creating .venv/ (Python packages stay inside this folder)" >&2
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "deskbot: installing deskbot${extra:+ with its test tools} and its dependencies into .venv/ (a minute or two the first time)..." >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    # setuptools boxes a warning about package-named folders next to an editable install:
    # that is this repository's layout on purpose, so the box says nothing to act on.
    PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet -e ".${extra}"
    echo "deskbot: installed." >&2
    touch "$stamp"
    [ -n "$extra" ] && touch .venv/.installed
  fi
  return 0
}
