"""The offline programmatic synthesizer (no model needed)."""

from synthesizers.offline.synthesizer import OfflineSynthesizer

__all__ = ["OfflineSynthesizer"]
