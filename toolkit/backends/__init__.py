"""Chat backends: OpenAI-compatible endpoints, local transformers models, and a scripted test double.

``ALLOW_MODEL_REQUESTS`` is the global kill switch: while it is False every real backend (OpenAI, local)
refuses to generate with :class:`ModelRequestsBlocked`. The test suite turns it off; tests that mean to run a
real (loopback or tiny) model take the ``allow_model_requests`` fixture.
"""

from toolkit.backends.base import (
    Backend,
    BackendError,
    ChatRequest,
    ChatResponse,
    Decoding,
    MalformedToolCall,
    ModelRequestsBlocked,
    Usage,
    check_model_requests_allowed,
    openai_tools,
)
from toolkit.backends.local import LocalBackend, LocalConfig, bundled_smollm2
from toolkit.backends.openai_backend import OpenAIBackend, OpenAIConfig
from toolkit.backends.scripted import (
    ScriptedBackend,
    UnconsumedSteps,
    UnexpectedModelRequest,
    malformed_call_step,
    tool_call_step,
)

ALLOW_MODEL_REQUESTS = True

__all__ = [
    "ALLOW_MODEL_REQUESTS",
    "Backend",
    "BackendError",
    "ChatRequest",
    "ChatResponse",
    "Decoding",
    "LocalBackend",
    "LocalConfig",
    "MalformedToolCall",
    "ModelRequestsBlocked",
    "OpenAIBackend",
    "OpenAIConfig",
    "ScriptedBackend",
    "UnconsumedSteps",
    "UnexpectedModelRequest",
    "Usage",
    "bundled_smollm2",
    "check_model_requests_allowed",
    "malformed_call_step",
    "openai_tools",
    "tool_call_step",
]
