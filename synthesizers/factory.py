"""Build the synthesizer a config asks for."""

from __future__ import annotations

from synthesizers.config import SynthConfig
from synthesizers.runner import Synthesizer

__all__ = ["make_synthesizer"]


def make_synthesizer(config: SynthConfig) -> Synthesizer:
    """The synthesizer ``config`` names; with ``workers > 1``, a pool of processes that each run it."""
    if config.workers > 1:
        from synthesizers.workers import WorkerPool

        return WorkerPool(config)
    if config.synthesizer == "offline":
        from synthesizers.offline import OfflineSynthesizer

        return OfflineSynthesizer(suites=list(config.suites), sources=list(config.tools), env_seed=config.env_seed,
                                  max_delegate_depth=config.max_delegate_depth, distractors=config.distractors,
                                  system_prompt=config.system_prompt, max_tools=config.max_tools)
    from synthesizers.llm import LLMSynthesizer  # noqa: PLC0415 — the LLM path is optional

    return LLMSynthesizer.from_config(config)
