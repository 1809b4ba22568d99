"""Per-user isolation under random operations, on SQLite and PostgreSQL.

Several users each read their own namespaces and one shared project; they remember, update, forget, recall
(twice, so the second answer is a cache hit; with and without graph expansion), read the graph, get and export
in random order, often naming each other's memory
ids. A model of who wrote what checks that nothing another user owns ever comes back, and that another user's
memory can be neither changed nor forgotten.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia.memory import MemoryNotFound, MemoryService

USERS = 4
WORDS = ["coffee", "deploy", "salary", "password", "roadmap", "holiday", "invoice", "bug", "acme", "renewal"]
_runs = itertools.count()

PEOPLE, THINGS = ["Dana", "Priya", "Zed"], ["Acme", "Globex"]
text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
relation = st.builds("{} owns the {} account".format, st.sampled_from(PEOPLE), st.sampled_from(THINGS))
user = st.integers(0, USERS - 1)
target = st.integers(0, 10_000)
operation = st.one_of(
    st.tuples(st.just("remember"), user, st.sampled_from(["own", "agent", "shared"]), text | relation),
    st.tuples(st.just("graph"), user, st.sampled_from(PEOPLE + THINGS), st.integers(1, 10)),
    st.tuples(st.just("update"), user, target, text),
    st.tuples(st.just("forget"), user, target, st.booleans()),
    st.tuples(st.just("recall"), user, text, st.integers(1, 15)),
    st.tuples(st.just("get"), user, target, st.just("")),
    st.tuples(st.just("export"), user, st.just(0), st.just("")),
)


@dataclass
class World:
    """Who may read which namespace, and what each current memory says and where it lives."""

    run: int
    namespace_of: dict[str, str] = field(default_factory=dict)
    content_of: dict[str, str] = field(default_factory=dict)
    current: set[str] = field(default_factory=set)
    version_of: dict[str, str] = field(default_factory=dict)  # memory id -> its first version's id
    deleted: set[str] = field(default_factory=set)

    def own(self, u: int) -> str:
        return f"user:r{self.run}-u{u}"

    def readable(self, u: int) -> list[str]:
        return [self.own(u), f"agent:r{self.run}-u{u}", f"project:r{self.run}-shared"]

    def pick(self, index: int) -> str | None:
        ids = sorted(self.namespace_of)
        return ids[index % len(ids)] if ids else None

    def may_read(self, u: int, memory_id: str) -> bool:
        return self.namespace_of.get(memory_id) in self.readable(u)


async def _apply(memory: MemoryService, world: World, op: tuple[str, int, object, object]) -> None:
    name, u, arg, extra = op
    readable = world.readable(u)
    if name == "remember":
        namespace = {"own": world.own(u), "agent": readable[1], "shared": readable[2]}[str(arg)]
        memory_id = await memory.remember(str(extra), namespace=namespace)
        world.namespace_of[memory_id], world.content_of[memory_id] = namespace, str(extra)
        world.current.add(memory_id)
        world.version_of[memory_id] = memory_id
    elif name in ("update", "forget", "get"):
        await _on_target(memory, world, name, u, world.pick(int(str(arg))), extra)
    elif name == "recall":
        first = await memory.recall(str(arg), readable, k=int(str(extra)))
        again = await memory.recall(str(arg), readable, k=int(str(extra)))  # served from the cache
        for hit in [*first, *again]:
            assert world.may_read(u, hit.memory.id), f"user {u} recalled {hit.memory.namespace}"
            assert hit.memory.id in world.current
            assert hit.memory.content == world.content_of[hit.memory.id]
        assert [h.memory.id for h in first] == [h.memory.id for h in again]
    elif name == "graph":
        await _graph(memory, world, u, str(arg), int(str(extra)))
    else:
        exported = [m async for m in memory.export(namespaces=readable)]
        assert {m.id for m in exported} == {i for i in world.current if world.may_read(u, i)}


async def _graph(memory: MemoryService, world: World, u: int, entity: str, k: int) -> None:
    """Neither the graph view nor a graph-expanded recall names another user's memory or namespace."""
    readable = world.readable(u)
    for view in await memory.graph(entity, namespaces=readable):
        assert view.namespace in readable
        for memory_id in [*view.mentioned_in, *(e.source_memory_id for e in view.edges)]:
            assert world.may_read(u, memory_id), f"user {u} saw {memory_id} through the graph"
        assert all(e.namespace == view.namespace for e in view.edges)
    for query in (f"who owns the {entity} account", f"what did {entity} say"):
        for hit in await memory.recall(query, readable, k=k, expand_graph=True):
            assert world.may_read(u, hit.memory.id), f"user {u} recalled {hit.memory.namespace}"
            assert hit.memory.id in world.current
            assert hit.memory.content == world.content_of[hit.memory.id]


async def _on_target(
    memory: MemoryService, world: World, name: str, u: int, memory_id: str | None, extra: object
) -> None:
    if memory_id is None:
        return
    readable = world.readable(u)
    allowed = world.may_read(u, memory_id)
    if name == "get":
        if allowed and memory_id not in world.deleted:
            assert (await memory.get(memory_id, namespaces=readable)).content == world.content_of[memory_id]
        else:
            with pytest.raises(MemoryNotFound):
                await memory.get(memory_id, namespaces=readable)
    elif name == "forget":
        if not allowed or memory_id in world.deleted:  # the owner's export later shows it is still there
            with pytest.raises(MemoryNotFound):
                await memory.forget(memory_id, namespaces=readable, hard=bool(extra))
            return
        await memory.forget(memory_id, namespaces=readable, hard=bool(extra))
        if bool(extra) and memory_id not in world.deleted:  # a hard forget removes every version
            chain = {i for i, v in world.version_of.items() if v == world.version_of[memory_id]}
            world.current -= chain
            world.deleted |= chain
        else:
            world.current.discard(memory_id)
    elif not allowed:
        with pytest.raises(MemoryNotFound):
            await memory.update(memory_id, str(extra), namespaces=readable)
    elif memory_id in world.current:
        new_id = await memory.update(memory_id, str(extra), namespaces=readable)
        world.current.discard(memory_id)
        world.namespace_of[new_id], world.content_of[new_id] = world.namespace_of[memory_id], str(extra)
        world.current.add(new_id)
        world.version_of[new_id] = world.version_of[memory_id]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=18))
async def test_no_operation_ever_shows_or_changes_another_users_memory(
    memory: MemoryService, operations: list[tuple[str, int, object, object]]
) -> None:
    world = World(next(_runs))
    for op in operations:
        await _apply(memory, world, op)
    for u in range(USERS):  # a last check for everyone, whatever the random ops left
        await _apply(memory, world, ("export", u, 0, ""))
        await _apply(memory, world, ("recall", u, " ".join(WORDS), 15))
        for entity in PEOPLE + THINGS:
            await _apply(memory, world, ("graph", u, entity, 10))
