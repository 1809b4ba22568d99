"""`sophia bi recruit …` and `sophia bi strategy`: the recruiting desk (personal data in the `hr:recruiting`
memory namespace, with the operator's authority) and the strategy agent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from sophia.cli._common import cli_database, echo_json, fail, handle_errors, run_async, settings_of
from sophia.cli._memory import EmbedderChoice

__all__ = ["recruit_app", "strategy_command"]

T = TypeVar("T")
recruit_app = typer.Typer(
    name="recruit", help="Roles, resumes, matching, interview questions and notes.", no_args_is_help=True
)
Model = Annotated[
    str | None,
    typer.Option("--model", help="A model or task name for the gateway; none: no model is called."),
]
AsJson = Annotated[bool, typer.Option("--json", help="As JSON.")]
Embedding = Annotated[
    EmbedderChoice,
    typer.Option("--embedder", help="auto: MiniLM when installed; hashing: fast, keyword-grade"),
]


@dataclass
class _Opened:
    database: Any
    memory: Any
    model: Any


@asynccontextmanager
async def _open(settings: Any, embedder: EmbedderChoice, model: str | None) -> AsyncIterator[_Opened]:
    from sophia.bi import gateway_model
    from sophia.gateway import Caller, build_gateway
    from sophia.memory import HashingEmbedder, default_embedder, open_memory

    chosen = HashingEmbedder(dimensions=384) if embedder is EmbedderChoice.HASHING else default_embedder()
    async with cli_database(settings) as database:
        memory = await open_memory(settings, database, embedder=chosen)
        gateway = await build_gateway(settings, database) if model else None
        try:
            asked = gateway_model(gateway, Caller(), model) if gateway is not None and model else None
            yield _Opened(database, memory, asked)
        finally:
            if gateway is not None:
                await gateway.aclose()
            await memory.close()


def _with_desk(
    ctx: typer.Context, embedder: EmbedderChoice, model: str | None, work: Callable[[Any, Any], Awaitable[T]]
) -> T:
    from sophia.bi import RecruitDesk

    async def run() -> T:
        async with _open(settings_of(ctx), embedder, model) as opened:
            return await work(RecruitDesk(opened.memory), opened.model)

    return run_async(run())


def _read(path: Path) -> str:
    if not path.is_file():
        fail(f"{path} is not a file")
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return path.read_text(encoding="utf-8")


@recruit_app.command("add-role")
@handle_errors
def add_role(
    ctx: typer.Context, file: Path, embedder: Embedding = EmbedderChoice.AUTO, as_json: AsJson = False
) -> None:
    """Add a role (or a new version of it) from markdown: a title line, 'Must have' and 'Nice to have' bullets."""
    from sophia.bi import parse_role

    role = parse_role(_read(file))
    saved = _with_desk(ctx, embedder, None, lambda desk, _: desk.add_role(role))
    if as_json:
        echo_json({**saved.json(), "title": role.title, "must": role.must, "nice": role.nice})
        return
    typer.echo(
        f"role {role.id} (version {saved.version}): {len(role.must)} must-haves, {len(role.nice)} nice"
    )


@recruit_app.command("add-candidate")
@handle_errors
def add_candidate(
    ctx: typer.Context,
    file: Path,
    name: Annotated[str | None, typer.Option("--name", help="Else the resume's first line.")] = None,
    embedder: Embedding = EmbedderChoice.AUTO,
    as_json: AsJson = False,
) -> None:
    """Add a candidate's resume (text, markdown or PDF), kept in the restricted hr:recruiting namespace."""
    from sophia.bi import parse_candidate

    candidate = parse_candidate(_read(file), name)
    saved = _with_desk(ctx, embedder, None, lambda desk, _: desk.add_candidate(candidate))
    if as_json:
        echo_json({**saved.json(), "name": candidate.name, "lines": len(candidate.lines)})
        return
    typer.echo(f"candidate {candidate.id} (version {saved.version}): {len(candidate.lines)} resume lines")


@recruit_app.command("match")
@handle_errors
def match(
    ctx: typer.Context,
    role: str,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many candidates.")] = 10,
    model: Model = None,
    embedder: Embedding = EmbedderChoice.AUTO,
    as_json: AsJson = False,
) -> None:
    """Candidates for ROLE, best first, with which resume line meets which requirement and what is missing."""
    ranked = _with_desk(ctx, embedder, model, lambda desk, m: desk.match(role, k=k, summarize=m))
    if as_json:
        echo_json([m.json() for m in ranked])
        return
    for m in ranked:
        typer.echo(f"{m.score:.3f}  {m.candidate_id}: {m.summary}")
        for r in m.reasons:
            where = f"line {r.line_number}: {r.line}" if r.met else "MISSING"
            typer.echo(f"        {'must' if r.must else 'nice'} {r.requirement} -> {where}")


@recruit_app.command("questions")
@handle_errors
def questions(
    ctx: typer.Context,
    role: str,
    candidate: str,
    model: Model = None,
    embedder: Embedding = EmbedderChoice.AUTO,
    as_json: AsJson = False,
) -> None:
    """Interview questions from the role and the candidate's gaps (templated without --model)."""
    from sophia.bi import interview_questions

    asked = _with_desk(ctx, embedder, model, lambda desk, m: interview_questions(desk, role, candidate, m))
    if as_json:
        echo_json(asked.json())
        return
    for number, q in enumerate(asked.questions, 1):
        typer.echo(f"{number}. [{'gap' if q['gap'] else 'probe'}: {q['requirement']}] {q['question']}")


@recruit_app.command("notes")
@handle_errors
def notes(
    ctx: typer.Context,
    role: str,
    candidate: str,
    file: Path,
    model: Model = None,
    embedder: Embedding = EmbedderChoice.AUTO,
    as_json: AsJson = False,
) -> None:
    """Structure the interview notes in FILE (per requirement: evidence quoted, rating) and store a version."""
    from sophia.bi import save_notes

    raw = _read(file)
    saved, structured = _with_desk(ctx, embedder, model, lambda d, m: save_notes(d, role, candidate, raw, m))
    if as_json:
        echo_json({**saved.json(), "notes": structured.model_dump()})
        return
    typer.echo(f"notes for {candidate} / {role} saved as version {saved.version}")
    for n in structured.requirements:
        typer.echo(f"  {n.requirement}: {n.rating or '-'}/5 {n.evidence or '(no evidence)'}")


@handle_errors
def strategy_command(
    ctx: typer.Context,
    question: Annotated[
        str | None, typer.Option("--question", help="Focus the research recall and prose.")
    ] = None,
    competitor: Annotated[
        list[str] | None, typer.Option("--competitor", help="A competitor's name to find in calls; repeat.")
    ] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Where research findings live; default global."),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only records of this connector.")] = None,
    model: Model = None,
    embedder: Embedding = EmbedderChoice.AUTO,
    as_json: AsJson = False,
) -> None:
    """Growth opportunities and risks ranked by evidence weight, each with its records and research citations."""
    from sophia.bi import load_strategy
    from sophia.business import BusinessStore

    async def run() -> Any:
        async with _open(settings_of(ctx), embedder, model) as opened:
            return await load_strategy(
                BusinessStore(opened.database),
                opened.memory,
                namespace or ["global"],
                question=question,
                competitors=competitor or (),
                model=opened.model,
                source=source,
            )

    result = run_async(run())
    if as_json:
        echo_json(result.json())
        return
    if not result.items:
        typer.echo("no evidence yet: sync a CRM or run research first")
    for number, item in enumerate(result.items, 1):
        typer.echo(f"{number}. [{item.kind} {item.weight:.2f}] {item.title}: {item.text}")
        for e in item.evidence[:5]:
            typer.echo(f"     {e.kind} {e.id} {e.url or ''}".rstrip())
    if result.prose:
        typer.echo(f"\n{result.prose}")
