"""Downloads checked against their published checksums, and PASCAL VOC and SBD fetched and extracted with them.

A file already at the destination is used as it is (checked, never overwritten); a host
that does not resolve is refused in seconds (`fcn_keras.network.require_host`).
"""

import hashlib
import os
import shutil
import tarfile
import urllib.request

from fcn_keras.data.checks import DataError
from fcn_keras.network import require_host

VOC_RELEASES = {
    "2012": (
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
        "md5:6cd6e144f989b92b3379bac3b3de84fd",
        os.path.join("VOCdevkit", "VOC2012"),
    ),
    "2011": (
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2011/VOCtrainval_25-May-2011.tar",
        "md5:6c3384ef61512963050cb5d687e5bf1e",
        os.path.join("TrainVal", "VOCdevkit", "VOC2011"),
    ),
    "2010": (
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar",
        "md5:da459979d0c395079b5c75ee67908abb",
        os.path.join("VOCdevkit", "VOC2010"),
    ),
}
"""year -> (url, "algorithm:hex digest", data set root inside the archive)."""

SBD_RELEASE = (
    "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz",
    "sha256:6a5a2918d5c73ce032fdeba876574d150d9d04113ab87540a1304cbcc715be53",
    os.path.join("benchmark_RELEASE", "dataset"),
)
"""(url, "algorithm:hex digest", data set root inside the archive) of SBD."""
DOWNLOAD_TIMEOUT = 60  # seconds a silent server may keep a download waiting


def file_checksum(path, algorithm):
    """Hex digest of a file.

    Args:
        path: the file.
        algorithm: a ``hashlib`` name, e.g. ``"md5"`` or ``"sha256"``.

    Returns:
        the lowercase hex digest string.

    Example:
        >>> with open("hello.txt", "wb") as handle:
        ...     _ = handle.write(b"hello")
        >>> file_checksum("hello.txt", "md5")
        '5d41402abc4b2a76b9719d911017c592'
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_existing(path, checksum, url):
    """Checks a file found where a download would go; it is never replaced, so a wrong one is refused.

    Args:
        path: the file, which exists.
        checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"``, or None where none is published (any file passes).
        url: where the file comes from, for the message.

    Returns:
        ``path``.

    Raises:
        DataError: the file does not match ``checksum``; the message names it and says to replace or remove it.

    Example:
        >>> with open("hello.txt", "wb") as handle:
        ...     _ = handle.write(b"hello")
        >>> check_existing("hello.txt", "md5:5d41402abc4b2a76b9719d911017c592", "https://example.org/hello.txt")
        'hello.txt'
        >>> check_existing("hello.txt", "md5:0123", "https://example.org/hello.txt")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: hello.txt is already there, but its md5 is 5d41..., not the 0123 published ...
    """
    if checksum is None:
        return path
    algorithm, _, expected = checksum.partition(":")
    actual = file_checksum(path, algorithm)
    if actual != expected:
        raise DataError(f"{path} is already there, but its {algorithm} is {actual}, not the {expected} published for "
                        f"{url}: another file, or a damaged one. It is left as it is: replace it with the right file, "
                        "or remove it to download again.")
    return path


def download_file(url, path, checksum=None):
    """Downloads `url` to `path`, unless a file is there already: that one is checked and kept, never overwritten.

    The host is asked first (a host that does not resolve is refused in seconds). The
    download goes to `path + ".part"` and is renamed only once it is complete (and
    matches `checksum`), so an interrupted or corrupt download never looks like a good file.

    Args:
        url: where to fetch the file (any scheme ``urllib`` opens, ``file://`` included).
        path: where the file goes (its folder is created).
        checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"``, or None where none is published.

    Returns:
        ``path``.

    Raises:
        fcn_keras.network.DownloadError: the host does not resolve (no network access).
        DataError: the download failed or does not match ``checksum`` (nothing is kept), or
            the file already at ``path`` does not match it (kept as it is). The messages name
            the file and how to place it by hand.

    Example:
        >>> import pathlib
        >>> _ = pathlib.Path("hello.txt").write_bytes(b"hello")
        >>> url = pathlib.Path("hello.txt").absolute().as_uri()  # file:///.../hello.txt
        >>> download_file(url, "cache/hello.txt", "md5:5d41402abc4b2a76b9719d911017c592")
        'cache/hello.txt'
    """
    if os.path.isfile(path):
        return check_existing(path, checksum, url)
    by_hand = f"download it by hand to {path}"
    require_host(url, os.path.basename(path), by_hand)
    algorithm, _, expected = checksum.partition(":") if checksum else (None, None, None)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".part"
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, open(partial, "wb") as handle:
            shutil.copyfileobj(response, handle)
            announced = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        if announced and announced.isdigit() and os.path.getsize(partial) != int(announced):
            raise OSError(f"the server announced {announced} bytes but sent {os.path.getsize(partial)}")
    except (OSError, ValueError) as error:  # URLError, HTTPError and socket errors are OSErrors
        if os.path.exists(partial):
            os.remove(partial)
        raise DataError(f"{url}: download failed ({error}); retry, or {by_hand}.") from None
    if checksum is not None:
        actual = file_checksum(partial, algorithm)
        if actual != expected:
            os.remove(partial)
            raise DataError(f"{url}: {algorithm} checksum {actual} != expected {expected}; the download is corrupt "
                            f"or the server changed the file. Retry, or {by_hand} after checking it.")
    os.replace(partial, path)
    return path


def download_and_extract(url, checksum, dest, root_in_archive):
    """Downloads an archive into ``dest``, verifies it and extracts it (skipped when done).

    Args:
        url: where to fetch the archive (any scheme ``urllib`` opens, ``file://`` included).
        checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"`` of the archive.
        dest: folder for the archive and its contents (created if needed).
        root_in_archive: relative path of the data set root inside the archive; its
            presence under ``dest`` means the work is already done.

    Returns:
        ``os.path.join(dest, root_in_archive)``.

    Raises:
        DataError: the download does not match ``checksum`` (the file is deleted).

    Example:
        >>> import pathlib, tarfile
        >>> pathlib.Path("toy").mkdir()
        >>> _ = pathlib.Path("toy/readme.txt").write_text("a data set")
        >>> with tarfile.open("toy.tar", "w") as tar:
        ...     tar.add("toy")
        >>> url = pathlib.Path("toy.tar").absolute().as_uri()
        >>> download_and_extract(url, "md5:" + file_checksum("toy.tar", "md5"), "data", "toy")
        'data/toy'
        >>> pathlib.Path("data/toy/readme.txt").read_text()
        'a data set'
    """
    root = os.path.join(dest, root_in_archive)
    if os.path.isdir(root):
        return root
    archive = download_file(url, os.path.join(dest, os.path.basename(url)), checksum)
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.10.12 / 3.11.4
    with tarfile.open(archive) as tar:
        tar.extractall(dest, **safe)
    if not os.path.isdir(root):
        raise DataError(f"{archive}: extracted, but {root_in_archive} is not inside it.")
    return root


def download_voc(dest, year="2012"):
    """Downloads and extracts PASCAL VOC ``trainval`` (2 GB for 2012) with its checksum.

    Args:
        dest: folder to hold the archive and the extracted devkit.
        year: ``"2012"``, ``"2011"`` (it holds the ``val`` list of ``seg11valid``) or ``"2010"``
            (the images of PASCAL-Context).

    Returns:
        the root to pass to :func:`voc_segmentation`, e.g. ``dest/VOCdevkit/VOC2012``.
    """
    if year not in VOC_RELEASES:
        raise ValueError(f"Unknown VOC year {year!r}; choose one of {sorted(VOC_RELEASES)}.")
    url, checksum, root = VOC_RELEASES[year]
    return download_and_extract(url, checksum, os.path.expanduser(dest), root)


def download_sbd(dest):
    """Downloads and extracts the SBD release (1.4 GB) with its checksum.

    Args:
        dest: folder to hold the archive and ``benchmark_RELEASE/``.

    Returns:
        the root to pass to :func:`sbd_segmentation`, ``dest/benchmark_RELEASE/dataset``.
    """
    url, checksum, root = SBD_RELEASE
    return download_and_extract(url, checksum, os.path.expanduser(dest), root)
