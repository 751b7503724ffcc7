#!/usr/bin/env bash
# VNN-COMP's prepare_instance.sh for birdnn:
#   prepare_instance.sh VERSION CATEGORY ONNX VNNLIB
# birdnn keeps no state between instances, so there is nothing to prepare beyond checking
# that the program is built and the files are there (exit 1 otherwise, with the reason).
set -euo pipefail
if [ "$#" -ne 4 ]; then
  echo "usage: $0 VERSION CATEGORY ONNX VNNLIB" >&2
  exit 1
fi
birdnn="${BIRDNN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/birdnn}"
if [ ! -x "$birdnn" ]; then
  echo "birdnn is not built at $birdnn (cargo build --release, or set BIRDNN)" >&2
  exit 1
fi
for f in "$3" "$4"; do
  if [ ! -f "$f" ]; then
    echo "no such file: $f" >&2
    exit 1
  fi
done
