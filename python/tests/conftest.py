"""Shared fixtures: paths into the glint build tree, the backend under test.

The tests run on the backend GLINT_BACKEND names (``auto`` when unset);
scripts/test-python.sh runs them with whatever GLINT_BACKEND it is given.
GLINT_BUILD_DIR overrides the build tree (default: build/ at the top of the
checkout).
"""

import os
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import glint  # noqa: E402

BUILD = os.environ.get("GLINT_BUILD_DIR") or os.path.join(ROOT, "build")


def guest(name):
    """Path of a test guest (tests/guests/NAME.c)."""
    path = os.path.join(BUILD, "guests", name + ".elf")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run `make` first")
    return path


TYPES = os.path.join(BUILD, "examples", "types", "types-guest.elf")
HELLO = os.path.join(BUILD, "examples", "hello", "hello-guest.elf")


def pytest_report_header(config):
    try:
        backend = glint.probe_backend()
    except glint.GlintError as e:
        backend = f"none ({e})"
    return [f"glint: {glint.library_path}, backend {backend} (GLINT_BACKEND="
            f"{os.environ.get('GLINT_BACKEND', '')!r})"]


@pytest.fixture(scope="session")
def backend():
    """The backend the tests run on ('kvm' or 'process'); skips when none is usable."""
    try:
        return glint.probe_backend()
    except glint.NoBackend as e:
        pytest.skip(f"no usable glint backend: {e}")


@pytest.fixture
def sandbox(backend):
    """A factory: sandbox('basic', **options) -> a Sandbox closed after the test."""
    made = []

    def make(name, **kw):
        path = name if os.sep in name else guest(name)
        sb = glint.Sandbox.from_file(path, **kw)
        made.append(sb)
        return sb

    yield make
    for sb in made:
        sb.close()
