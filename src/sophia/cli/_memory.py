"""`sophia memory add|search|show|graph|index-code|forget|stats|reindex|consolidate|export|import`.

The operator's view of memory, with the operator's authority (every namespace); long work shows a progress bar.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sophia.cli._common import cli_database, console, fail, handle_errors, run_async, settings_of
from sophia.memory import (
    CodeSymbol,
    Embedder,
    HashingEmbedder,
    InvalidMemory,
    Memory,
    MemoryService,
    default_embedder,
    open_memory,
)

app = typer.Typer(name="memory", help="Remember, recall and maintain memories.", no_args_is_help=True)
T = TypeVar("T")
Namespace = Annotated[str, typer.Option("--namespace", "-n", help="global, user:<id>, project:<name>...")]


class GraphFormat(StrEnum):
    CYPHER = "cypher"
    GRAPHML = "graphml"


class EmbedderChoice(StrEnum):
    AUTO = "auto"
    HASHING = "hashing"


@app.callback()
def main(
    ctx: typer.Context,
    embedder: Annotated[
        EmbedderChoice, typer.Option(help="auto: MiniLM when installed; hashing: fast, keyword-grade")
    ] = EmbedderChoice.AUTO,
) -> None:
    ctx.meta["memory_embedder"] = embedder


def _embedder(ctx: typer.Context) -> Embedder:
    if ctx.meta.get("memory_embedder") is EmbedderChoice.HASHING:
        return HashingEmbedder(dimensions=384)
    return default_embedder()


def _with_memory(ctx: typer.Context, work: Callable[[MemoryService], Awaitable[T]]) -> T:
    settings = settings_of(ctx)
    embedder = _embedder(ctx)

    async def run() -> T:
        async with cli_database(settings) as database:
            service = await open_memory(settings, database, embedder=embedder)
            try:
                return await work(service)
            finally:
                await service.close()

    return run_async(run())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def memory_record(memory: Memory) -> dict[str, Any]:
    """A memory as one JSON object (the export line format, read back by `import`)."""
    data = asdict(memory)
    data["kind"] = memory.kind.value
    data["metadata"] = dict(memory.metadata)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


@app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    content: str,
    namespace: Namespace = "global",
    kind: Annotated[
        str, typer.Option(help="conversation, fact, code, research, outcome, preference")
    ] = "fact",
    importance: float = 0.5,
    source: str | None = None,
) -> None:
    """Remember CONTENT and print its id."""
    memory_id = _with_memory(
        ctx,
        lambda s: s.remember(content, namespace=namespace, kind=kind, importance=importance, source=source),
    )
    console.print(memory_id, highlight=False)


@app.command("search")
@handle_errors
def search(
    ctx: typer.Context,
    query: str,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="repeat for several; default global")
    ] = None,
    k: int = 10,
    kind: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    graph: Annotated[
        bool, typer.Option(help="add up to k hits one graph hop from the entities named")
    ] = False,
) -> None:
    """Recall by meaning and keywords; the table shows why each hit ranked where it did."""
    namespaces = namespace or ["global"]
    hits = _with_memory(ctx, lambda s: s.recall(query, namespaces, kind or None, k, expand_graph=graph))
    table = Table("score", "kind", "namespace", "content", "kw", "vec", "via", "id")
    table.columns[-1].no_wrap = True
    for hit in hits:
        r = hit.reasons
        table.add_row(
            f"{hit.score:.3f}",
            hit.memory.kind.value,
            hit.memory.namespace,
            hit.memory.content[:80],
            "-" if r.keyword_rank is None else str(r.keyword_rank),
            "-" if r.vector_rank is None else str(r.vector_rank),
            r.via_graph or "-",
            hit.memory.id,
        )
    console.print(table, width=max(console.width, 160))


@app.command("show")
@handle_errors
def show(ctx: typer.Context, memory_id: str) -> None:
    """Print one memory as JSON."""

    async def work(service: MemoryService) -> Memory:
        namespace = await service.namespace_of(memory_id)
        return await service.get(memory_id, namespaces=namespace or "global")

    console.print_json(json.dumps(memory_record(_with_memory(ctx, work))))


@app.command("graph")
@handle_errors
def graph(
    ctx: typer.Context,
    entity: str,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="repeat for several; default global")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the entity views as JSON")] = False,
    file: Annotated[
        Path | None, typer.Argument(help="with ENTITY `export`: the file to write", dir_okay=False)
    ] = None,
    export_format: Annotated[
        GraphFormat | None,
        typer.Option("--format", help="with `export`: a Cypher script of MERGEs, or GraphML"),
    ] = None,
) -> None:
    """What the graph knows about ENTITY: every relationship (closed ones with their end) and its source memory.

    `sophia memory graph export FILE --format cypher|graphml` writes the whole graph of the namespaces instead,
    for Neo4j (`cypher-shell -f FILE`, or apoc.import.graphml).
    """
    if entity == "export" and file is not None:
        fmt = (export_format or GraphFormat.CYPHER).value
        text = _with_memory(ctx, lambda s: s.graph_export(namespaces=namespace or ["global"], format=fmt))
        file.write_text(text, encoding="utf-8")
        console.print(f"wrote the graph of {', '.join(namespace or ['global'])} as {fmt} to {file}")
        return
    if file is not None or export_format is not None:
        fail("FILE and --format go with `sophia memory graph export FILE`", code=2)
    views = _with_memory(ctx, lambda s: s.graph(entity, namespaces=namespace or ["global"]))
    if as_json:
        console.print_json(json.dumps([asdict(v) for v in views], default=str))
        return
    if not views:
        fail(f"no entity {entity[:80]!r} in {', '.join(namespace or ['global'])}", code=1)
    for view in views:
        table = Table("subject", "relation", "object", "valid from", "valid until", "source memory")
        table.title = f"{view.name} ({view.type}) in {view.namespace}: {len(view.mentioned_in)} mention(s)"
        for e in view.edges:
            until = "current" if e.valid_until is None else f"{e.valid_until:%Y-%m-%d %H:%M}"
            table.add_row(
                e.subject, e.relation, e.object, f"{e.valid_from:%Y-%m-%d %H:%M}", until, e.source_memory_id
            )
        console.print(table, width=max(console.width, 140))


@app.command("index-code")
@handle_errors
def index_code(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="a repository checkout")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="default project:<folder name>")] = "",
    repo: Annotated[str, typer.Option(help="the name memories carry; default the folder name")] = "",
) -> None:
    """Remember PATH's symbols (the coding repo map's) as `code` memories with file and line; re-run to replace."""
    from sophia.coding import RepoMap  # the shells may use the coding layer; memory itself may not

    name = repo or path.resolve().name
    target = namespace or f"project:{name}"
    symbols = [
        CodeSymbol(summary.path, s.line, s.name, s.kind, s.signature, s.parent)
        for summary in RepoMap(path).summaries()
        for s in summary.symbols
    ]
    forgotten, remembered = _with_memory(ctx, lambda m: m.index_code(symbols, repo=name, namespace=target))
    console.print(
        f"indexed {remembered} symbols of {name} into {target} (replaced {forgotten})", highlight=False
    )


@app.command("forget")
@handle_errors
def forget(
    ctx: typer.Context,
    memory_id: str,
    hard: Annotated[bool, typer.Option(help="delete rows, all versions, vectors and cached copies")] = False,
) -> None:
    """Forget one memory (soft by default: `as_of` recall still sees it)."""

    async def work(service: MemoryService) -> int:
        namespace = await service.namespace_of(memory_id)
        return await service.forget(memory_id, namespaces=namespace or "global", hard=hard)

    console.print(f"forgot {_with_memory(ctx, work)} memor(y/ies)", highlight=False)


@app.command("stats")
@handle_errors
def stats(ctx: typer.Context) -> None:
    """Counts by kind, index sizes and the embedding model."""
    found = _with_memory(ctx, lambda s: s.stats())
    console.print_json(json.dumps(asdict(found)))


@app.command("reindex")
@handle_errors
def reindex(
    ctx: typer.Context,
    reembed: Annotated[bool, typer.Option(help="recompute every vector with the current model")] = False,
) -> None:
    """Rebuild the vector and full-text indexes (L2) from the rows (L3)."""

    async def work(service: MemoryService) -> str:
        with _progress() as progress:
            progress.add_task("reindexing", total=None)
            report = await service.reindex(reembed=reembed)
        return f"reindexed: {report.reembedded} re-embedded, keyword index rebuilt"

    console.print(_with_memory(ctx, work), highlight=False)


@app.command("consolidate")
@handle_errors
def consolidate(
    ctx: typer.Context,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="repeat for several; default every namespace"),
    ] = None,
) -> None:
    """Forget now: purge expired memories, merge near-duplicates, decay the importance of unused ones."""
    report = _with_memory(ctx, lambda s: s.consolidate(namespaces=namespace or None))
    console.print(
        f"consolidated: {report.expired} expired purged, {report.merged} near-duplicate(s) merged, "
        f"{report.decayed} decayed",
        highlight=False,
    )
    for memory_id in report.expired_ids:
        console.print(f"  purged {memory_id}", highlight=False)
    for memory_id in report.merged_ids:
        console.print(f"  merged {memory_id}", highlight=False)


@app.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    path: Path,
    history: Annotated[
        bool, typer.Option(help="also export closed (superseded or forgotten) versions")
    ] = False,
    restricted: Annotated[
        bool, typer.Option(help="also export the restricted hr: namespaces (resumes, interview notes)")
    ] = False,
) -> None:
    """Write memories to PATH as JSON Lines, one memory per line (personal data in hr: only on request)."""

    async def work(service: MemoryService) -> int:
        total, written = await service.count(), 0
        with _progress() as progress, path.open("w", encoding="utf-8") as out:
            task = progress.add_task("exporting", total=total)
            async for memory in service.export(current_only=not history):
                if memory.namespace.startswith("hr:") and not restricted:
                    progress.advance(task)
                    continue
                out.write(json.dumps(memory_record(memory), ensure_ascii=False) + "\n")
                written += 1
                progress.advance(task)
        return written

    console.print(f"exported {_with_memory(ctx, work)} memories to {path}", highlight=False)


def _import_args(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
        args = {
            "content": record["content"],
            "namespace": record["namespace"],
            "kind": record.get("kind", "fact"),
            "metadata": record.get("metadata") or {},
            "importance": record.get("importance", 0.5),
            "source": record.get("source"),
            "speaker": record.get("speaker"),
            "session_id": record.get("session_id"),
            "turn_index": record.get("turn_index"),
        }
        if record.get("occurred_at"):
            args["occurred_at"] = datetime.fromisoformat(record["occurred_at"])
        return args
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidMemory(f"line {number} is not a memory record ({error}); fix or remove it") from None


@app.command("import")
@handle_errors
def import_(ctx: typer.Context, path: Path) -> None:
    """Remember every line of a JSON Lines file written by `export` (each gets a new id)."""
    if not path.is_file():
        fail(f"{path} does not exist; pass a file written by `sophia memory export`")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [_import_args(line, i) for i, line in enumerate(lines, 1)]  # check every line before writing

    async def work(service: MemoryService) -> int:
        with _progress() as progress:
            task = progress.add_task("importing", total=len(records))
            for record in records:
                content = record.pop("content")
                await service.remember(content, **record)
                progress.advance(task)
        return len(records)

    console.print(f"imported {_with_memory(ctx, work)} memories from {path}", highlight=False)
