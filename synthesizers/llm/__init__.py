"""The LLM-driven synthesizer (a teacher model behind any OpenAI-compatible endpoint)."""

from synthesizers.llm.synthesizer import LLMSynthesizer

__all__ = ["LLMSynthesizer"]
