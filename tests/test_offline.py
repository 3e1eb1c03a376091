"""The test run has no network but loopback, so a notebook that downloads anything fails."""

import os
import socket

import pytest


def test_only_loopback_is_reachable():
    if os.environ.get("FEDLAB_OFFLINE") != "1":
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the tests through tests/offline.sh (make test)")
        pytest.skip("not run through tests/offline.sh, or network namespaces are not available "
                    "here: the notebooks ran with the network (see tests/offline.sh)")
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
