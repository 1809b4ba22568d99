"""The recruiting desk on real memory (SQLite and PostgreSQL): planted matches rank first with the resume line behind
each requirement, questions target the gaps, interview notes are validated and kept as versions, and the
`sophia bi recruit` commands work end to end; `sophia memory export` leaves resumes out unless asked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench.recruit import file_all, keyword_rank, precision_at_k
from bench.recruit_data import SKILLS, generate_recruiting
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sophia.bi import (
    HR_NAMESPACE,
    InvalidRecruitDoc,
    NotesRefused,
    RecruitDesk,
    RecruitNotFound,
    interview_questions,
    parse_candidate,
    parse_role,
    save_notes,
    score_candidate,
)
from sophia.cli import app
from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database

ROLE = """# Senior Backend Engineer
## Must have
- Python services in production
- PostgreSQL
- Kubernetes
## Nice to have
- Kafka
"""
ANA = """# Ana Silva
- 6 years building Python services in production at Acme
- Tuned PostgreSQL queries for a billing system
- Ran workloads on Kubernetes clusters
"""
BEN = """# Ben Berg
- Python scripts for data cleaning
- Kafka consumer pipelines
"""
NOTES = """Python: built the payments service in Python, strong answers 4/5
PostgreSQL: explained index choices well 5/5
Summary: solid backend engineer
Recommendation: hire
"""


@pytest.fixture
async def desk(database: Database, tmp_path: Path) -> AsyncIterator[RecruitDesk]:
    memory = await MemoryService.open(
        database, HashingEmbedder(dimensions=128), index_path=tmp_path / "v.npz"
    )
    yield RecruitDesk(memory)
    await memory.close()


def test_a_role_without_must_haves_is_refused_with_how_to_fix() -> None:
    with pytest.raises(InvalidRecruitDoc, match="Must have"):
        parse_role("# Engineer\n- Python\n")
    with pytest.raises(InvalidRecruitDoc, match="empty"):
        parse_candidate("   \n")
    role = parse_role(ROLE)
    assert (role.id, role.must, role.nice) == (
        "senior-backend-engineer",
        ("Python services in production", "PostgreSQL", "Kubernetes"),
        ("Kafka",),
    )


@given(
    st.lists(st.sampled_from(SKILLS), min_size=1, max_size=5, unique=True),
    st.lists(st.sampled_from(SKILLS), max_size=5, unique=True),
)
def test_must_have_coverage_is_the_share_of_must_haves_named_in_the_resume(
    must: list[str], resume_skills: list[str]
) -> None:
    role = parse_role("# Role\n## Must have\n" + "".join(f"- {s}\n" for s in must))
    lines = ["- Ran the team offsite\n", *(f"- Worked with {s} daily\n" for s in resume_skills)]
    resume = parse_candidate("# Someone\n" + "".join(lines))
    scored = score_candidate(role, resume)
    expected = len(set(must) & set(resume_skills)) / len(must)
    assert scored.must_coverage == pytest.approx(expected)
    assert sorted(scored.missing) == sorted(set(must) - set(resume_skills))
    for reason in scored.reasons:
        if reason.met:
            assert reason.line is not None and reason.requirement in reason.line


async def test_planted_candidates_rank_first_and_beat_the_keyword_baseline(desk: RecruitDesk) -> None:
    data = generate_recruiting(3, roles=4)
    await file_all(desk, data)
    ours, base = [], []
    for role_id, text in data.roles.items():
        ranked = await desk.match(role_id, k=len(data.resumes))
        assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
        top = ranked[: len(data.truth[role_id])]
        assert all(m.must_coverage == 1.0 and not [r for r in m.reasons if r.must and not r.met] for m in top)
        ours.append(precision_at_k([m.candidate_id for m in ranked], data.truth[role_id]))
        base.append(precision_at_k(keyword_rank(text, data.resumes), data.truth[role_id]))
    assert sum(ours) / len(ours) == 1.0
    assert sum(base) < sum(ours)


async def test_match_reasons_name_the_resume_line_and_what_is_missing(desk: RecruitDesk) -> None:
    await desk.add_role(parse_role(ROLE))
    await desk.add_candidate(parse_candidate(ANA))
    await desk.add_candidate(parse_candidate(BEN))
    ranked = await desk.match("senior-backend-engineer")
    assert [m.candidate_id for m in ranked] == ["ana-silva", "ben-berg"]
    ana = ranked[0].json()
    assert ana["missing"] == ["Kafka"]
    assert ana["reasons"][1] == {
        "requirement": "PostgreSQL",
        "must": True,
        "met": True,
        "line": "Tuned PostgreSQL queries for a billing system",
        "line_number": 2,
        "coverage": 1.0,
    }
    assert ranked[1].missing == ["Python services in production", "PostgreSQL", "Kubernetes"]

    async def summary(system: str, user: str) -> str:
        return "Ana fits well."

    worded = await desk.match("senior-backend-engineer", summarize=summary)
    assert worded[0].summary == "Ana fits well." and worded[0].score == ranked[0].score
    with pytest.raises(RecruitNotFound, match="senior-backend-engineer"):
        await desk.match("nobody")


async def test_questions_ask_about_gaps_first_and_an_off_shape_model_falls_back(desk: RecruitDesk) -> None:
    await desk.add_role(parse_role(ROLE))
    await desk.add_candidate(parse_candidate(BEN))
    asked = await interview_questions(desk, "senior-backend-engineer", "ben-berg")
    assert asked.source == "template"
    assert [q["gap"] for q in asked.questions] == [True, True, True, False]
    assert "PostgreSQL" in asked.questions[1]["question"]

    async def good(system: str, user: str) -> str:
        return json.dumps(
            {"questions": [{"requirement": "Kubernetes", "question": "How would you learn K8s?"}]}
        )

    async def bad(system: str, user: str) -> str:
        return json.dumps({"questions": [{"requirement": "Cooking", "question": "What is your best dish?"}]})

    from_model = await interview_questions(desk, "senior-backend-engineer", "ben-berg", good)
    assert from_model.source == "model" and from_model.questions[0]["gap"] is True
    refused = await interview_questions(desk, "senior-backend-engineer", "ben-berg", bad)
    assert refused.source == "template" and refused.refused is not None


async def test_interview_notes_are_validated_and_kept_as_versions(desk: RecruitDesk) -> None:
    await desk.add_role(parse_role(ROLE))
    await desk.add_candidate(parse_candidate(ANA))
    saved, notes = await save_notes(desk, "senior-backend-engineer", "ana-silva", NOTES)
    assert saved.version == 1 and notes.recommendation == "hire"
    ratings = {n.requirement: n.rating for n in notes.requirements}
    assert ratings == {"Python services in production": 4, "PostgreSQL": 5, "Kubernetes": None, "Kafka": None}

    async def invented(system: str, user: str) -> str:
        return json.dumps(
            {
                "requirements": [
                    {"requirement": "Kubernetes", "evidence": "ran a 500-node cluster", "rating": 5}
                ]
            }
        )

    async def off_shape(system: str, user: str) -> str:
        return json.dumps({"requirements": [{"requirement": "Kubernetes", "rating": 9}]})

    for model in (invented, off_shape):
        with pytest.raises(NotesRefused):
            await save_notes(desk, "senior-backend-engineer", "ana-silva", NOTES, model)

    async def good(system: str, user: str) -> str:
        quote = "explained index choices well"
        return json.dumps(
            {"requirements": [{"requirement": "PostgreSQL", "evidence": quote, "rating": 5}], "summary": "ok"}
        )

    second, _ = await save_notes(desk, "senior-backend-engineer", "ana-silva", NOTES, good)
    assert second.version == 2
    versions = await desk.history("notes", role_id="senior-backend-engineer", candidate_id="ana-silva")
    assert [v.valid_until is None for v in versions] == [False, True]
    assert all(v.namespace == HR_NAMESPACE for v in versions)


def _cli(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(app, list(args))
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def test_the_recruit_commands_end_to_end_and_export_leaves_resumes_out(tmp_path: Path) -> None:
    (tmp_path / "role.md").write_text(ROLE)
    (tmp_path / "ana.md").write_text(ANA)
    (tmp_path / "ben.md").write_text(BEN)
    (tmp_path / "notes.txt").write_text(NOTES)
    fast = ("--embedder", "hashing")
    _cli("db", "upgrade")
    _cli("bi", "recruit", "add-role", str(tmp_path / "role.md"), *fast)
    for name in ("ana", "ben"):
        _cli("bi", "recruit", "add-candidate", str(tmp_path / f"{name}.md"), *fast)
    ranked = json.loads(_cli("bi", "recruit", "match", "senior-backend-engineer", "--json", *fast))
    assert [m["candidate_id"] for m in ranked] == ["ana-silva", "ben-berg"]
    asked = json.loads(
        _cli("bi", "recruit", "questions", "senior-backend-engineer", "ben-berg", "--json", *fast)
    )
    assert asked["gaps"] == ["Python services in production", "PostgreSQL", "Kubernetes"]
    notes = _cli(
        "bi", "recruit", "notes", "senior-backend-engineer", "ana-silva", str(tmp_path / "notes.txt"), *fast
    )
    assert "version 1" in notes
    assert "no role 'nobody'" in _cli("bi", "recruit", "match", "nobody", *fast, ok=False)
    _cli("memory", "--embedder", "hashing", "add", "the launch is on Friday")
    _cli("memory", "--embedder", "hashing", "export", str(tmp_path / "out.jsonl"))
    exported = (tmp_path / "out.jsonl").read_text()
    assert "the launch is on Friday" in exported and "Ana Silva" not in exported and "hr:" not in exported
    _cli("memory", "--embedder", "hashing", "export", "--restricted", str(tmp_path / "all.jsonl"))
    assert "Ana Silva" in (tmp_path / "all.jsonl").read_text()
