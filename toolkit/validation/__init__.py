"""Validation of trajectory datasets: named stages, each giving a :class:`~toolkit.records.StageOutcome`.

``record`` (JSON Schema + model) → ``structure`` (roles, call/result pairing, subagent tree) → ``arguments``
(input schemas) → ``results`` (output schemas) → ``subagents`` (delegation consistency) → ``replay`` (re-run
the calls on fresh tools; only with tool sources). See ``docs/validation.md``.
"""

from toolkit.validation.annotate import AnnotateResult, write_annotated
from toolkit.validation.pipeline import (
    avalidate_records,
    check_record,
    validate_file,
    validate_records,
    validate_trajectory,
)
from toolkit.validation.replay import (
    compare_result,
    json_shape,
    nondeterminism_rule,
    replay_trajectory,
    same_shape,
)
from toolkit.validation.report import RecordReport, StageStats, ValidationReport
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, STAGES, STATIC_STAGES

__all__ = [
    "AnnotateResult",
    "DEFAULT_MAX_DEPTH",
    "STAGES",
    "STATIC_STAGES",
    "RecordReport",
    "StageStats",
    "ValidationReport",
    "avalidate_records",
    "check_record",
    "compare_result",
    "json_shape",
    "nondeterminism_rule",
    "replay_trajectory",
    "same_shape",
    "validate_file",
    "validate_records",
    "validate_trajectory",
    "write_annotated",
]
