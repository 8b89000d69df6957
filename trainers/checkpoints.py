"""Which checkpoint a run resumes from, and what resuming it with a different ``max_steps`` does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import UserError

__all__ = ["Resume", "resolve_resume"]


@dataclass(frozen=True)
class Resume:
    """A checkpoint to resume from: its directory, the step it holds, and the ``max_steps`` of the run that wrote it."""

    path: str
    step: int
    planned_steps: int

    def schedule_note(self, max_steps: int) -> str | None:
        """Say so when the run goes on to a different length than the one that wrote the checkpoint.

        The Trainer rebuilds the scheduler for the new ``max_steps`` but restores the optimizer's last learning
        rate, so the first resumed step runs at the rate the old schedule left (0 at the end of a linear decay)
        and later steps at the new schedule's (a decayed schedule restarts higher). Nothing says so otherwise.
        """
        if max_steps <= 0 or max_steps == self.planned_steps:
            return None
        return (f"the checkpoint is step {self.step} of a {self.planned_steps}-step run, and this run trains to "
                f"{max_steps}: step {self.step + 1} runs at the learning rate the old schedule left, and steps "
                f"from {self.step + 2} on at a {max_steps}-step schedule's (a decayed schedule restarts higher)")

    def to_dict(self, max_steps: int) -> dict[str, Any]:
        return {"path": self.path, "step": self.step, "planned_steps": self.planned_steps,
                "schedule_note": self.schedule_note(max_steps)}


def resolve_resume(resume: str | None, output_dir: Path, max_steps: int) -> Resume | None:
    """The checkpoint named by a run's ``resume`` setting (``latest`` or a ``checkpoint-N`` directory), or None.

    Raises :class:`UserError` when there is no such checkpoint, or when it already holds ``max_steps`` steps (the
    Trainer would train nothing and save the checkpoint's weights as if it had).
    """
    if resume is None:
        return None
    if resume == "latest":
        from transformers.trainer_utils import get_last_checkpoint

        folder = output_dir / "checkpoints"
        last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
        if last is None:
            raise UserError(f"resume: latest found no checkpoint in {folder}; train once first or unset resume")
        path = Path(last)
    else:
        path = Path(resume)
    state_file = path / "trainer_state.json"
    if not state_file.is_file():
        raise UserError(f"resume: {path} is not a checkpoint directory (no trainer_state.json); pass checkpoint-N")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        step, planned = int(state["global_step"]), int(state.get("max_steps") or 0)
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"resume: {state_file} is not a readable trainer state ({e}); pass another checkpoint") from e
    if 0 < max_steps <= step:
        raise UserError(f"resume: {path} is already at step {step} and max_steps is {max_steps}, so there is "
                        f"nothing left to train; raise max_steps above {step} to train further")
    return Resume(str(path), step, planned)
