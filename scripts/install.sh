#!/usr/bin/env bash
# install.sh VENV EXTRAS — install policy-rag (editable) with EXTRAS (e.g. "ui,formats") into VENV,
# creating VENV with $PY (default python3) when it does not exist yet.
#
# uv installs the same pins in ~15 s where pip takes ~2.5 min on two cores, so it is tried first. It is
# given pip's own settings (index URLs, find-links, constraints, certificate), so both resolve from the same
# places to the same pins; if uv cannot be installed or fails, pip does the install as before.
set -uo pipefail
venv=$1
extras=$2
py=$venv/bin/python

# a line every 4 s while the venv is made or either installer works quietly: a first run is never silent for long
start=$SECONDS
( while sleep 4; do echo "  … still installing ($((SECONDS - start)) s)"; done ) & beat=$!
trap 'kill "$beat" 2>/dev/null' EXIT
if [ ! -x "$py" ]; then
  "${PY:-python3}" -m venv "$venv" || exit 1
fi

pip_settings() {  # "key value…" lines for the pip settings uv understands, from pip's own config and PIP_* env
  "$py" -m pip config list 2>/dev/null \
    | sed -n "s/^\(global\|install\|:env:\)\.\(index-url\|extra-index-url\|find-links\|constraint\|cert\)='\(.*\)'$/\2 \3/p" \
    | sort -u
}

flags=(--index-strategy unsafe-best-match)  # pip's behaviour: the best version across all indexes
while read -r key values; do
  [ -z "$key" ] && continue
  if [ "$key" = cert ]; then export SSL_CERT_FILE=$values; continue; fi
  for v in $values; do flags+=("--$key" "$v"); done
done < <(pip_settings)

if "$py" -m pip install -q uv >/dev/null 2>&1 \
   && "$venv/bin/uv" pip install --python "$py" --native-tls -q "${flags[@]}" -e ".[$extras]"; then
  exit 0
fi

echo "uv could not do the install; installing with pip (a few minutes) …"
"$py" -m pip install -q --upgrade pip && "$py" -m pip install -q -e ".[$extras]"
