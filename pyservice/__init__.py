"""Sidian Verify (四电核验): verification service for Chinese e-government
licences, seals, signatures and materials."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sidian-verify")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

__all__ = ["__version__"]
