#!/usr/bin/env bash
# Print the path of a working Python 3.12 interpreter. pyenv installs 3.12 without making it the
# default, and its `python3.12` shim fails then, so each candidate is run before it is trusted.
set -u
candidates=()
command -v pyenv >/dev/null 2>&1 && candidates+=( $(ls -d "$(pyenv root)"/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V -r) )
candidates+=( $(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V -r) )
candidates+=( python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12 python3 )
for c in "${candidates[@]}"; do
  if "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; then
    command -v "$c"
    exit 0
  fi
done
echo "Python 3.12 not found: install it (e.g. 'pyenv install 3.12') and retry" >&2
exit 1
