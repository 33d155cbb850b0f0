"""require_host: a download whose host does not resolve is refused in seconds, in one line saying what to do instead.

The resolver is replaced in every test (`socket.getaddrinfo`): nothing here touches the network.
"""

import socket
import threading
import time
import types

import pytest

from fcn_keras import network
from fcn_keras.network import DownloadError, require_host

URL = "https://weights.invalid/fcn8s.caffemodel"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                   "NO_PROXY")


@pytest.fixture
def resolver(monkeypatch):
    """A stand-in resolver: `answer(host)` (set by the test) answers, `asked` lists the hosts asked; the hosts
    resolved before this test are forgotten."""
    fake = types.SimpleNamespace(answer=None, asked=[])

    def getaddrinfo(host, *args, **kwargs):
        fake.asked.append(host)
        return fake.answer(host)

    monkeypatch.setattr(network, "_RESOLVED", set())
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return fake


def unknown(host):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_an_unresolvable_host_is_refused_at_once_naming_the_file_and_the_way_by_hand(resolver):
    resolver.answer = unknown
    started = time.monotonic()
    with pytest.raises(DownloadError) as failure:
        require_host(URL, "the weights of fcn8s", "put the file at ~/fcn8s.caffemodel")
    assert time.monotonic() - started < 10
    assert str(failure.value) == (
        "Cannot reach weights.invalid (name not resolved: Name or service not known) to fetch the weights of fcn8s "
        f"from {URL}: no network access? Instead, put the file at ~/fcn8s.caffemodel.")
    assert isinstance(failure.value, OSError) and resolver.asked == ["weights.invalid"]


def test_a_resolver_that_does_not_answer_counts_as_unreachable(resolver):
    release = threading.Event()
    resolver.answer = lambda host: release.wait(5)
    try:
        with pytest.raises(DownloadError, match=r"^Cannot reach weights.invalid \(no answer from the name resolver "
                                                r"in 0.2 s\) to fetch x from "):
            require_host(URL, "x", "y", timeout=0.2)
    finally:
        release.set()  # the resolver's thread ends


def test_local_urls_pass_and_a_resolved_host_is_asked_once(resolver):
    resolver.answer = lambda host: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0))]
    require_host("file:///data/fcn8s.caffemodel", "x", "y")
    require_host("fcn8s.caffemodel", "x", "y")
    assert resolver.asked == []
    require_host("http://dl.example.org/a.caffemodel", "x", "y")
    require_host("http://dl.example.org/b.caffemodel", "x", "y")
    assert resolver.asked == ["dl.example.org"]


def test_behind_a_proxy_only_the_proxys_host_must_resolve(resolver, monkeypatch):
    resolver.answer = lambda host: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0))]
    monkeypatch.setenv("https_proxy", "http://proxy.example.org:3128")
    monkeypatch.setenv("no_proxy", "intranet.example.org")
    require_host(URL, "x", "y")  # weights.invalid resolves only beyond the proxy
    assert resolver.asked == ["proxy.example.org"]
    resolver.answer = unknown
    with pytest.raises(DownloadError, match=r"^Cannot reach intranet.example.org "):
        require_host("https://intranet.example.org/a.caffemodel", "x", "y")  # no_proxy: asked itself
