#!/usr/bin/env bash
# VNN-COMP's run_instance.sh for birdnn:
#   run_instance.sh VERSION CATEGORY ONNX VNNLIB RESULT_FILE TIMEOUT
# Runs birdnn's VNN-LIB solver interface (`birdnn verify QUERY --network NAME=ONNX`) and
# writes RESULT_FILE in the competition's format: a first line `sat`, `unsat`, `timeout`,
# `unknown` or `error`; after `sat`, the counterexample as `((X_0 v) ... (Y_4 v))` for a
# VNN-LIB 1.0 query, or birdnn's 2.0 assignment block for a 2.0 one. Gzipped ONNX and
# VNN-LIB files (`.gz`) are unpacked first.
set -euo pipefail
if [ "$#" -ne 6 ]; then
  echo "usage: $0 VERSION CATEGORY ONNX VNNLIB RESULT_FILE TIMEOUT" >&2
  exit 1
fi
onnx=$3 vnnlib=$4 result=$5 timeout=$6
birdnn="${BIRDNN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/birdnn}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

unpacked() {
  case "$1" in
    *.gz)
      local out="$tmp/$(basename "${1%.gz}")"
      gunzip -c "$1" >"$out"
      echo "$out"
      ;;
    *) echo "$1" ;;
  esac
}
onnx=$(unpacked "$onnx")
vnnlib=$(unpacked "$vnnlib")

# A 2.0 query names its network; a 1.0 file has none, and any name binds its one model.
name=$(grep -o '(declare-network[[:space:]]*[A-Za-z][A-Za-z0-9_]*' "$vnnlib" | head -n 1 | awk '{print $2}' || true)
name=${name:-network}

if ! answer=$("$birdnn" verify "$vnnlib" --network "$name=$onnx" --timeout "$timeout" 2>"$tmp/stderr"); then
  cat "$tmp/stderr" >&2
  echo error >"$result"
  exit 0
fi
first=$(head -n 1 <<<"$answer")
case "$first" in
  unsat | unknown) echo "$first" >"$result" ;;
  timed-out) echo timeout >"$result" ;;
  sat)
    if grep -q '(vnnlib-version' "$vnnlib"; then
      printf '%s\n' "$answer" >"$result"
    else
      # `X real [5]` then five values, `Y real [5]` then five: ((X_0 v) ... (Y_4 v)).
      tail -n +2 <<<"$answer" | awk '
        /^[A-Za-z]/ { tensor = $1; index_in = 0; next }
        { lines[n++] = sprintf("(%s_%d %s)", tensor, index_in++, $1) }
        END {
          print "sat"
          for (i = 0; i < n; i++) printf "%s%s%s\n", (i == 0 ? "(" : " "), lines[i], (i == n - 1 ? ")" : "")
        }' >"$result"
    fi
    ;;
  *)
    echo "birdnn answered '$first'" >&2
    echo error >"$result"
    ;;
esac
