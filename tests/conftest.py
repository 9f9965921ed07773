"""Shared fixtures: an isolated environment (no real data, no user cache, no network)."""

from __future__ import annotations

import io
import pathlib
import urllib.request
import zipfile

import pytest


def _no_network(*args, **kwargs):
    raise AssertionError(f"a test tried to use the network: urlopen{args}")


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp: pathlib.Path, *, keep_data: bool) -> pathlib.Path:
    """Points every cache location into `tmp` and forbids the network; returns the cache."""
    if not keep_data:
        monkeypatch.delenv("DAEPTR_DATA", raising=False)
    cache = tmp / "cache"
    monkeypatch.setenv("DAEPTR_CACHE", str(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "xdg"))
    monkeypatch.setenv("HOME", str(tmp / "home"))
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    return cache


@pytest.fixture
def isolated_env(monkeypatch, tmp_path) -> pathlib.Path:
    """No DAEPTR_DATA, a cache under tmp_path (returned), and no network.

    Data tests opt in with `pytestmark = pytest.mark.usefixtures("isolated_env")`; it is not
    autouse, so that other test modules keep their own environment.
    """
    return _isolate(monkeypatch, tmp_path, keep_data=False)


@pytest.fixture
def real_data_env(monkeypatch, tmp_path) -> pathlib.Path:
    """Like `isolated_env` but keeps DAEPTR_DATA, so real data is read from it only."""
    return _isolate(monkeypatch, tmp_path, keep_data=True)


def write(path: pathlib.Path, content: str | bytes) -> pathlib.Path:
    """Writes bytes, or text as UTF-8 with the line ends it contains, creating parents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def make_zip(members: dict[str, bytes]) -> bytes:
    """An in-memory zip archive with the given members, in insertion order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def write_file():
    """The `write` helper as a fixture."""
    return write


@pytest.fixture
def zip_bytes():
    """The `make_zip` helper as a fixture."""
    return make_zip


class FakeNetwork:
    """A stand-in for `urllib.request.urlopen` serving fixed bytes and recording the URLs."""

    def __init__(self, payload: bytes | None = None, error: BaseException | None = None,
                 read_error: BaseException | None = None):
        self.payload, self.error, self.read_error = payload, error, read_error
        self.urls: list[str] = []

    def __call__(self, url, *args, **kwargs):
        self.urls.append(url)
        if self.error is not None:
            raise self.error
        network = self

        class Response(io.BytesIO):
            def read(self, *a):
                if network.read_error is not None:
                    raise network.read_error
                return super().read(*a)

        return Response(self.payload)


@pytest.fixture
def fake_network(monkeypatch):
    """Returns a function installing a FakeNetwork(**kwargs) as urlopen."""

    def install(**kwargs) -> FakeNetwork:
        net = FakeNetwork(**kwargs)
        monkeypatch.setattr(urllib.request, "urlopen", net)
        return net

    return install


@pytest.fixture
def drive(monkeypatch):
    """Runs a driver module in-process as `python -m experiments.NAME args…` would, without a
    data folder (`--smoke` runs need none); returns what it printed. An error ends as
    SystemExit with the one-line message."""
    import importlib

    from experiments import cli

    monkeypatch.delenv("DAEPTR_DATA", raising=False)

    def call(name: str, *args: str) -> str:
        import contextlib

        module = importlib.import_module(f"experiments.{name}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.call(module, list(args))
        return out.getvalue()

    return call
