"""``toolgym synth`` configuration: a YAML file, overridable from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from toolkit.config import read_config_file
from toolkit.errors import UserError

__all__ = ["DEFAULT_MIX", "TeacherConfig", "SynthConfig", "load_config"]

# The default mixture of scenario kinds (weights, normalised by the runner). "no_tool" is about 10%.
DEFAULT_MIX: dict[str, float] = {
    "single": 0.2,
    "distractors": 0.1,
    "parallel": 0.1,
    "parallel_multi": 0.08,
    "chain": 0.12,
    "multi_turn": 0.1,
    "missing_argument": 0.08,
    "no_tool": 0.1,
    "error_recovery": 0.07,
    "delegate": 0.05,
}


@dataclass(kw_only=True)
class TeacherConfig:
    base_url: str = field(metadata={"help": "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1"})
    model: str = field(metadata={"help": "model name the endpoint serves"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "environment variable holding the key"})
    native_tools: bool = field(default=True, metadata={"help": "use native tool calling; else prompt"})
    presentation: str = field(default="json", metadata={"help": "prompted presentation when native_tools is off"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature"})
    max_tokens: int = field(default=1024, metadata={"help": "completion budget per turn"})
    judge: bool = field(default=False, metadata={"help": "rate tasks and final answers with the teacher"})


@dataclass(kw_only=True)
class SynthConfig:
    synthesizer: str = field(default="offline", metadata={"help": "offline (no model) or llm (teacher endpoint)"})
    suites: list[str] = field(default_factory=list, metadata={"help": "bundled suites, e.g. calculator, calendar"})
    tools: list[str] = field(default_factory=list, metadata={"help": "extra tool sources: py:…, stdio:…, http(s)://…"})
    n: int = field(default=100, metadata={"help": "samples to attempt"})
    out: Path = field(default=Path("runs/synth/data.jsonl"), metadata={"help": "output JSONL"})
    seed: int = field(default=0, metadata={"help": "run seed"})
    concurrency: int = field(default=8, metadata={"help": "samples in flight"})
    workers: int = field(default=1, metadata={"help": "processes that make samples (each with its share of "
                                                     "concurrency); more than 1 uses more CPU cores"})
    sample_timeout: float = field(default=120.0, metadata={"help": "seconds per sample"})
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX), metadata={"help": "kind → weight"})
    near_dup_threshold: float | None = field(default=0.9, metadata={"help": "near-duplicate Jaccard; null: off"})
    env_seed: int = field(default=0, metadata={"help": "initial state of suite environments; `toolgym validate "
                                                       "--tools py:tools.<suite>` replays exactly only for 0"})
    max_delegate_depth: int = field(default=2, metadata={"help": "how deep subagents may delegate"})
    distractors: int = field(default=4, metadata={"help": "extra tools offered in distractor scenarios"})
    max_tools: int | None = field(default=None, metadata={"help": "offer each sample at most this many tools "
                                                           "(those it calls plus random others); null: all"})
    system_prompt: str | None = field(default=None, metadata={"help": "system prompt for every trajectory"})
    teacher: TeacherConfig | None = field(default=None, metadata={"help": "teacher endpoint (llm synthesizer)"})

    def __post_init__(self) -> None:
        if self.synthesizer not in ("offline", "llm"):
            raise UserError(f"synthesizer must be 'offline' or 'llm', got {self.synthesizer!r}")
        if self.synthesizer == "llm" and self.teacher is None:
            raise UserError("the llm synthesizer needs a teacher: add `teacher: {base_url: ..., model: ...}` or pass --teacher")
        if self.workers < 1:
            raise UserError(f"workers must be at least 1, got {self.workers}")
        unknown = sorted(set(self.mix) - set(DEFAULT_MIX))
        if unknown:
            raise UserError(f"unknown scenario kind(s) {', '.join(unknown)} in mix; kinds: {', '.join(DEFAULT_MIX)}")
        if not self.suites and not self.tools:
            raise UserError("no tools to synthesize from: list `suites:` or `tools:` in the config, or pass --tools SOURCE")
        self.out = Path(self.out)


def load_config(path: Path | None, overrides: dict[str, Any]) -> SynthConfig:
    """Read a YAML config (optional) and apply non-None CLI overrides on top."""
    data = read_config_file(path, sample="samples/synth_offline.yaml") if path is not None else {}
    known = {f.name for f in fields(SynthConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"unknown setting(s) {', '.join(unknown)} in {path}; known: {', '.join(sorted(known))}")
    file_teacher = data.get("teacher")
    data.update({k: v for k, v in overrides.items() if v is not None})
    teacher = data.get("teacher")
    if isinstance(teacher, dict) and isinstance(overrides.get("teacher"), dict) and isinstance(file_teacher, dict):
        teacher = {**file_teacher, **overrides["teacher"]}  # --teacher sets the endpoint; the rest stays
        data["teacher"] = teacher
    if isinstance(teacher, dict):
        tknown = {f.name for f in fields(TeacherConfig)}
        bad = sorted(set(teacher) - tknown)
        if bad:
            raise UserError(f"unknown teacher setting(s) {', '.join(bad)}; known: {', '.join(sorted(tknown))}")
        try:
            data["teacher"] = TeacherConfig(**teacher)
        except TypeError as exc:
            raise UserError(f"teacher settings incomplete: {exc}") from None
    return SynthConfig(**data)
