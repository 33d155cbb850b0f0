"""Whether a download can start: its server's name resolves, asked in seconds before a downloader waits minutes.

Downloaders (urllib, TFDS, Keras, keras-hub) retry an unreachable host for a long
time and then fail with their transport's own text. `require_host` asks the
resolver first, with a short timeout, and refuses in one line that names what was
to be fetched and how to place it by hand. Needs no TensorFlow.
"""

import socket
import threading
import urllib.parse
import urllib.request

RESOLVE_TIMEOUT = 5.0  # seconds a resolver may take before the host counts as unreachable
_RESOLVED = set()  # hosts that resolved once in this process


class DownloadError(OSError):
    """A file or data set could not be fetched; the message names it, where from, and how to place it by hand."""


def require_host(url, fetching, by_hand, timeout=RESOLVE_TIMEOUT):
    """Refuses at once when `url`'s host does not resolve (no network, no DNS, a mistyped host).

    Local URLs (`file://`, no host) pass; behind a proxy (`https_proxy`, ...) the proxy's host is asked instead;
    a host that resolved once in this process is not asked again.

    Args:
        url: the address the download will use.
        fetching: what the download fetches, e.g. "the ImageNet weights of ResNet50".
        by_hand: how to do without the download, e.g. "put the file at ~/.keras/models/x.h5".
        timeout: seconds to wait for the resolver.

    Raises:
        DownloadError: the host did not resolve within `timeout`.

    Example:
        >>> require_host("https://weights.invalid/fcn8s.caffemodel", "the weights of fcn8s",
        ...              "put the file at ~/fcn8s.caffemodel")
        Traceback (most recent call last):
        fcn_keras.network.DownloadError: Cannot reach weights.invalid (...) to fetch the weights of fcn8s from ...
    """
    parts = urllib.parse.urlsplit(url)
    host = _proxy_host(parts.scheme, parts.hostname) or parts.hostname
    if not host or host in _RESOLVED:
        return
    problem = _resolve(host, timeout)
    if problem is not None:
        raise DownloadError(f"Cannot reach {host} ({problem}) to fetch {fetching} from {url}: no network access? "
                            f"Instead, {by_hand}.")
    _RESOLVED.add(host)


def _proxy_host(scheme, host):
    """The host of the proxy a download of `host` goes through (`https_proxy` and the like), or None: behind a proxy
    only the proxy's name needs to resolve here."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or not host or urllib.request.proxy_bypass(host):
        return None
    return urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}").hostname


def _resolve(host, timeout):
    """None if `host` resolves within `timeout` seconds, else what went wrong (the resolver's thread is left to
    finish on its own: `getaddrinfo` cannot be interrupted)."""
    outcome = {}

    def resolve():
        try:
            socket.getaddrinfo(host, None)
        except OSError as error:
            outcome["problem"] = f"name not resolved: {error.strerror or error}"
        else:
            outcome["problem"] = None

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome.get("problem", f"no answer from the name resolver in {timeout:g} s")
