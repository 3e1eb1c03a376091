#!/bin/sh
# `make wheelhouse`: downloads every file of requirements.lock (about 0.8 GB, needs the network)
# into a folder, from which `make env` then installs with no network.
# Usage: tools/make_wheelhouse.sh PYTHON FOLDER [SOURCE_ONLY...]
#
# The wheels are those for the lock's platform (Linux x86-64 with glibc 2.31 or newer, CPython
# 3.11), not this machine's newest, so that older Linux machines can use them too; run it on
# Linux x86-64 with Python 3.11, like set-up. pip checks every download against the lock's
# sha256 hashes. SOURCE_ONLY names the locked packages that have no wheel for Python 3.11 (see
# the Makefile); their hash-checked source archives are built here into pure-Python wheels
# (sqlalchemy without its optional C speed-ups), so that set-up builds nothing and needs no
# compiler. Only a complete download replaces FOLDER.
set -eu
python=$1
folder=$2
shift 2
work="$folder.tmp"

platforms=""
for v in $(seq 31 -1 5); do
    platforms="$platforms --platform manylinux_2_${v}_x86_64"
done
for tag in manylinux2014_x86_64 manylinux2010_x86_64 manylinux1_x86_64; do
    platforms="$platforms --platform $tag"
done
no_binary=""
for name in "$@"; do
    no_binary="$no_binary --no-binary=$name"
done

set -x
rm -rf "$work"
"$python" -m venv "$work/pip"
# shellcheck disable=SC2086  # the option lists are meant to split into words
"$work/pip/bin/python" -m pip download --progress-bar off --no-deps --only-binary=:all: \
    $no_binary --implementation cp --python-version 3.11 $platforms \
    -r requirements.lock --dest "$work/wheels"
if [ $# -gt 0 ]; then
    DISABLE_SQLALCHEMY_CEXT=1 "$work/pip/bin/python" -m pip wheel --progress-bar off --no-deps \
        --wheel-dir "$work/wheels" "$work"/wheels/*.tar.gz
    rm -f "$work"/wheels/*.tar.gz
fi
rm -rf "$folder"
mv "$work/wheels" "$folder"
rm -rf "$work"
