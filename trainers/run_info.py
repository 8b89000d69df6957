"""What a training run records about the software it ran on."""

from __future__ import annotations

__all__ = ["library_versions"]


def library_versions() -> dict[str, str]:
    """Installed versions of the training stack (packages that are missing are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
