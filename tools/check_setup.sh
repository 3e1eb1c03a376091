#!/bin/sh
# Refuses, in one sentence, a machine where `make env` cannot build the course's environment:
# TensorFlow Federated 0.87.0 ships wheels for Linux x86-64 and Python 3.9-3.11 only, and
# requirements.lock is resolved for Python 3.11.
# Usage: tools/check_setup.sh UNAME PYTHON   (UNAME as "$(uname -s)/$(uname -m)", e.g. Linux/x86_64)
uname=$1
python=$2
needs="fedlab needs Python 3.11 (TensorFlow Federated 0.87.0 supports 3.9-3.11)"
if [ "$uname" != "Linux/x86_64" ]; then
    echo "fedlab needs Linux on x86-64 (TensorFlow Federated 0.87.0 has no other wheels);" \
         "this machine is $uname. See README.md, 'Supported platforms'."
    exit 1
fi
if ! command -v "$python" >/dev/null 2>&1; then
    echo "$needs: '$python' was not found; install Python 3.11 or run make with" \
         "PYTHON=/path/to/python3.11."
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    version=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null)
    echo "$needs: '$python' is Python $version; run make with PYTHON=/path/to/python3.11."
    exit 1
fi
