"""The `[learning]` section: the judge model that scores a sample of answers, and the experiments' prompt templates."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["LearningSettings"]


class LearningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judge_model: str | None = Field(
        default=None,
        description="A gateway model (or sophia/TASK) that scores a sample of answers; unset: no judging.",
    )
    judge_sample: float = Field(
        default=0.0, ge=0, le=1, description="The share of completed requests the judge scores (0 to 1)."
    )
    judge_tasks: list[str] = Field(
        default_factory=list, description="Only requests for these tasks are judged; empty: every task."
    )
    judge_queue: int = Field(
        default=64,
        gt=0,
        le=10_000,
        description="Answers waiting for the judge; more are dropped (and counted).",
    )
    prompts: dict[str, str] = Field(
        default_factory=dict,
        description="Named system prompts an experiment's variant may use: prompt:NAME prepends the text.",
    )

    @field_validator("judge_tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        from sophia.config._settings import TASKS  # the module that imports this one

        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown task(s) {', '.join(unknown)}; one of {', '.join(TASKS)}")
        return tasks

    @field_validator("prompts")
    @classmethod
    def _named(cls, prompts: dict[str, str]) -> dict[str, str]:
        for name, text in prompts.items():
            if not name.replace("_", "").replace("-", "").replace(".", "").isalnum() or len(name) > 40:
                raise ValueError(f'prompt "{name}": letters, digits, ".", "_" or "-", at most 40')
            if not text.strip():
                raise ValueError(f'prompt "{name}": the text is empty')
        return prompts
