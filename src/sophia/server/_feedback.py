"""`POST /v1/feedback`: a score for an answer, by its request id; the router learns from it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from sophia.accounts import Role
from sophia.server._auth import CurrentPrincipal, services

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["feedback"])


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64, description="The x-request-id of the answer.")
    score: float = Field(ge=0, le=1, description="1 for a good answer (thumbs up), 0 for a bad one.")


class FeedbackOut(BaseModel):
    object: str = "feedback"
    request_id: str
    task: str = Field(description="The task whose quality estimate learned from the score.")
    model: str


@router.post("/feedback", summary="Score an answer by its request id (the caller's own; admins any)")
async def post_feedback(request: Request, principal: CurrentPrincipal, feedback: FeedbackIn) -> FeedbackOut:
    owner = None if principal.role is Role.ADMIN else str(principal.user_id)
    task, model = await services(request).gateway.record_outcome(
        feedback.request_id, feedback.score, source="feedback", user_id=owner
    )
    return FeedbackOut(request_id=feedback.request_id, task=task, model=model)
