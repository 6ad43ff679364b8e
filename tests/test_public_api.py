"""The public surface is exactly what ``__all__`` says, and importing veil stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import pytest

PACKAGES = [
    "veil",
    "veil.attributes",
    "veil.cloak",
    "veil.crossmodel",
    "veil.detect",
    "veil.errors",
    "veil.evaluate",
    "veil.io",
    "veil.jobs",
    "veil.match",
    "veil.models",
    "veil.service",
]


def _public_names(package: ModuleType) -> set[str]:
    """Names a package defines or re-exports from its own modules, not what it imports for type hints."""
    names = set()
    for name, value in vars(package).items():
        if name.startswith("_") or name == "annotations":
            continue
        if isinstance(value, ModuleType):
            if name in package.__all__:  # an exported submodule, such as veil.errors
                names.add(name)
            continue
        # Constants have no __module__; classes and functions count where they are defined.
        home = getattr(value, "__module__", None) or package.__name__
        if home.startswith(package.__name__):
            names.add(name)
    return names


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    # import_module, not attribute access: ``veil.detect`` the attribute is the function.
    package = importlib.import_module(name)
    assert set(package.__all__) == _public_names(package)


def test_import_loads_no_heavy_package() -> None:
    heavy = "('torch', 'cv2', 'dlib', 'onnxruntime', 'faiss', 'sklearn')"
    code = f"import sys, veil; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
