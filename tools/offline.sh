#!/usr/bin/env bash
# Runs a command with no network but loopback, so that a notebook that tries to download fails.
# It uses a Linux network namespace (`unshare -n` as root, `unshare -rn` otherwise) and brings
# loopback up, which Jupyter kernels and TFF's worker need. Inside, FEDLAB_OFFLINE=1 is set and
# tests/test_offline.py checks that loopback is the only interface.
# The command also gets its own process namespace (--pid --fork --mount-proc): when it ends, the
# kernel ends and reaps every process it left, even where the machine's init reaps no orphans.
# Where namespaces are not allowed, the command runs with the network and says so; under CI
# (CI=true) that is an error.
set -u
# Notebook 07 draws its DP noise from a secret seed unless this is set; the checks (make test,
# make execute, make book) need the stored outputs to reproduce, so they use seed 0, which makes
# the noise known and the model NOT private. `make lab` never sets it.
export FEDLAB_NOT_PRIVATE_SEED="${FEDLAB_NOT_PRIVATE_SEED-0}"
if [ "$(id -u)" = 0 ]; then flags=-n; else flags=-rn; fi
flags="$flags --pid --fork --mount-proc"
if unshare $flags true 2>/dev/null && command -v ip >/dev/null 2>&1; then
  exec unshare $flags -- sh -c 'ip link set lo up && FEDLAB_OFFLINE=1 exec "$@"' sh "$@"
fi
if [ "${CI:-}" = true ]; then
  echo "tools/offline.sh: cannot create a network namespace (unshare $flags) or 'ip' is missing; CI must run offline." >&2
  exit 1
fi
echo "tools/offline.sh: network isolation is not available here (unshare $flags failed or 'ip' is missing); running with the network." >&2
exec "$@"
