"""The test run has no network but loopback, so a notebook that downloads anything fails."""

import os
import socket

import pytest


def test_only_loopback_is_reachable():
    if os.environ.get("FEDLAB_OFFLINE") != "1":
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the tests through tools/offline.sh (make test)")
        pytest.skip("not run through tools/offline.sh, or network namespaces are not available "
                    "here: the notebooks ran with the network (see tools/offline.sh)")
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
