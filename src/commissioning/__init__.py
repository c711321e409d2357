"""commissioning: a workbench for the people who commission health and care."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("commissioning")  # one source: the version in pyproject.toml
except PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
    __version__ = "0+unknown"
