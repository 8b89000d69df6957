"""ToolGym's ``GRPOTrainer``: TRL's, plus the outcome group filter, no loss pass when there is nothing to learn,
and the rollout log (docs/rl.md). Built by a function so that importing ToolGym does not import TRL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainers.demonstrations import rows_beside_demonstrations
from trainers.rewards import rows_without_outcome_contrast
from trainers.rollout_log import append_rollout_rows, rollout_log_path, rollout_rows

__all__ = ["grpo_trainer_class"]


def grpo_trainer_class(group_filter: str, rollout_log: Path | None = None, guidance_negatives: bool = True) -> type:
    """TRL's ``GRPOTrainer`` plus the outcome group filter (zero advantage for a group without outcome contrast),
    no loss pass for a micro-batch whose every advantage is 0, and every training rollout written to the
    rollout log in ``rollout_log`` (a run directory) when given. With ``guidance_negatives`` false, the sampled
    rollouts of a group given a gold demonstration get zero advantage, so only the demonstration trains it."""
    import torch
    from trl import GRPOTrainer

    class ToolGymGRPOTrainer(GRPOTrainer):
        _no_contrast: Any = None  # per rollout of the generation batch being scored, all processes
        _scored: Any = None  # (this process's inputs, every process's rewards) of that batch, for the log
        _beside_demo: Any = None  # per rollout of this process's batch: sampled, in a group with a demonstration

        # `_calculate_rewards` returns every process's rewards, whole groups in consecutive rows: where the groups
        # are known; `_generate_and_score_completions` returns this process's advantages: where they are zeroed
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[override]
            rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            if group_filter != "none":
                mode = "train" if self.model.training else "eval"
                size = self.num_generations if mode == "train" else self.num_generations_eval
                self._no_contrast = rows_without_outcome_contrast(rewards, self.reward_func_names, size)
                self._metrics[mode]["frac_groups_filtered"].append(float(self._no_contrast.float().mean()))
            if rollout_log is not None and self.model.training:
                self._scored = (inputs, rewards)
            if not guidance_negatives and self.model.training:
                flags = [getattr(row.get("toolgym_episode"), "demonstration", False) for row in inputs]
                self._beside_demo = rows_beside_demonstrations(flags, self.num_generations)
            return rewards

        def _generate_and_score_completions(self, inputs):  # type: ignore[override]
            out = super()._generate_and_score_completions(inputs)
            flat, self._no_contrast = self._no_contrast, None
            scored, self._scored = self._scored, None
            beside, self._beside_demo = self._beside_demo, None
            advantages = out["advantages"]
            start = self.accelerator.process_index * len(advantages)
            shape = (-1, *[1] * (advantages.dim() - 1))
            mine = None
            if flat is not None:
                mine = flat[start : start + len(advantages)].to(advantages.device)
                out["advantages"] = out["advantages"].masked_fill(mine.view(shape), 0.0)
            if beside is not None and any(beside):
                # the demonstration keeps its advantage; the failures beside it are not pushed down (positive-only)
                zero = torch.tensor(beside, device=advantages.device)
                out["advantages"] = out["advantages"].masked_fill(zero.view(shape), 0.0)
            if scored is not None:
                self._log_rollouts(scored, out["advantages"], start, mine)
            return out

        def _log_rollouts(self, scored: tuple[Any, Any], advantages: Any, start: int, filtered: Any) -> None:
            inputs, rewards = scored
            episodes = [row.get("toolgym_episode") for row in inputs]
            if any(ep is None for ep in episodes):  # not a ToolRollout batch: nothing to describe
                return
            per_rollout = advantages if advantages.dim() == 1 else advantages[:, 0]
            append_rollout_rows(
                rollout_log_path(rollout_log, self.accelerator.process_index),
                rollout_rows(
                    step=self.state.global_step + 1,  # the optimizer step these rollouts train
                    episodes=episodes,
                    rewards=rewards[start : start + len(episodes)].tolist(),
                    names=self.reward_func_names,
                    weights=self.reward_weights.tolist(),
                    advantages=per_rollout.tolist(),
                    first_row=start,
                    group_size=self.num_generations,
                    filtered=None if filtered is None else filtered.tolist(),
                ),
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[override]
            if not self.model.training:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            idle = self._nothing_to_learn(inputs)
            self._metrics["train"]["frac_loss_passes_skipped"].append(float(idle))
            if idle:  # the full pass would give exactly zero gradients: give them without the forward and backward
                return sum((p * 0).sum() for p in model.parameters() if p.requires_grad)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

        def _nothing_to_learn(self, inputs: dict[str, Any]) -> bool:
            # every GRPO loss type scales its policy term by the advantage; the KL term, an entropy bonus and a
            # router loss do not, and under DDP every rank must run the wrapped forward for gradients to sync
            return bool(
                self.beta == 0.0
                and not self._entropy_bonus_enabled
                and not self.aux_loss_enabled
                and self.accelerator.num_processes == 1
                and (inputs["advantages"] == 0).all()
            )

    return ToolGymGRPOTrainer
