"""The memory page: search what Sophia remembers about you, see why each memory was recalled, open, forget.

The graph view shows one entity's relationships, closed ones with the date they ended, each linked to its memory.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from sophia.memory import MemoryKind
from sophia.server.web._guard import ANYONE, MODEL_USERS, signed_in
from sophia.server.web._memories import memory_of, namespace_for, reason_parts
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession

router = APIRouter(tags=["web"], include_in_schema=False)
Anyone = signed_in(*ANYONE)
Editor = signed_in(*MODEL_USERS)
Namespace = Annotated[str | None, Query(max_length=140)]
KINDS = tuple(kind.value for kind in MemoryKind)
RESULTS = 20


@router.get("/memory")
async def memory_page(
    request: Request,
    me: WebSession = Anyone,
    q: Annotated[str, Query(max_length=2000)] = "",
    ns: Namespace = None,
    kind: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    namespace = namespace_for(me, ns)
    hits = []
    if q.strip():
        memory = await memory_of(request)
        kinds = [kind] if kind in KINDS else None
        found = await memory.recall(q, [namespace], kinds=kinds, k=RESULTS)
        hits = [(hit, reason_parts(hit.reasons)) for hit in found]
    return render(
        request,
        "memory.html",
        q=q,
        ns=namespace,
        own=f"user:{me.user_id}",
        kind=kind if kind in KINDS else "",
        kinds=KINDS,
        hits=hits,
        searched=bool(q.strip()),
        forgot=request.query_params.get("forgot") == "1",
    )


@router.get("/memory/graph")
async def graph_page(
    request: Request,
    me: WebSession = Anyone,
    entity: Annotated[str, Query(max_length=200)] = "",
    ns: Namespace = None,
) -> Response:
    namespace = namespace_for(me, ns)
    views = []
    if entity.strip():
        views = await (await memory_of(request)).graph(entity, namespaces=[namespace])
    return render(request, "memory_graph.html", entity=entity, ns=namespace, views=views)


@router.get("/memory/{memory_id}")
async def memory_detail(
    request: Request, memory_id: str, me: WebSession = Anyone, ns: Namespace = None, q: str = ""
) -> Response:
    namespace = namespace_for(me, ns)
    memory = await (await memory_of(request)).get(memory_id, namespaces=[namespace])
    return render(request, "memory_detail.html", memory=memory, ns=namespace, q=q[:2000])


@router.post("/memory/{memory_id}/forget")
async def forget(
    request: Request,
    memory_id: str,
    me: WebSession = Editor,
    ns: Annotated[str, Form(max_length=140)] = "",
    q: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Soft forget: the memory stops being recalled; history views (`as_of`) still show it was there."""
    namespace = namespace_for(me, ns)
    await (await memory_of(request)).forget(memory_id, namespaces=[namespace])
    query = {"forgot": "1", "q": q} | ({"ns": namespace} if namespace != f"user:{me.user_id}" else {})
    return RedirectResponse("/memory?" + urlencode(query), status_code=303)
