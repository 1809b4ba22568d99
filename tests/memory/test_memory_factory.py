"""`open_memory` builds the service the server and CLI share: snapshot under SOPHIA_HOME, one file per model."""

from __future__ import annotations

from sophia.config import Settings
from sophia.gateway import ProviderUnavailable
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, NumpyVectorIndex, memory_index_path, open_memory
from sophia.store import Database
from tests.agents.conftest import build_gateway


async def test_open_memory_keeps_the_vector_snapshot_under_sophia_home_per_model(
    database: Database,
) -> None:
    settings = Settings()  # SOPHIA_HOME is the test's own folder (root conftest)
    embedder = HashingEmbedder(dimensions=32)
    service = await open_memory(settings, database, embedder=embedder)
    await service.remember("snapshots live under the home folder", namespace="global")
    await service.close()
    path = memory_index_path(settings, embedder)
    assert path.is_file() and path.is_relative_to(settings.home)
    assert isinstance(service.vector, NumpyVectorIndex) and service.vector.path == path
    assert memory_index_path(settings, HashingEmbedder(dimensions=64)) != path


async def test_graph_model_in_settings_extracts_through_the_gateway_and_its_failure_falls_back(
    database: Database,
) -> None:
    answer = (
        '{"entities": [{"name": "Ada", "type": "person"}, {"name": "Engines", "type": "name"}],'
        ' "relations": [{"subject": "Ada", "relation": "leads", "object": "Engines"}]}'
    )
    provider = ScriptedProvider([answer, ProviderUnavailable("down", provider="scripted")], name="scripted")
    gateway = build_gateway(database, provider)
    settings = Settings(memory={"graph_model": "scripted"})
    service = await open_memory(settings, database, embedder=HashingEmbedder(dimensions=32), gateway=gateway)
    try:
        await service.remember("she is in charge of the engine work", namespace="user:g")
        await service.remember("Bo works at Initech.", namespace="user:g")  # the provider fails: the rules
        (engines,) = await service.graph("engines", namespaces="user:g")
        (bo,) = await service.graph("bo", namespaces="user:g")
        assert [(e.subject, e.relation) for e in engines.edges] == [("Ada", "leads")]
        assert [(e.relation, e.object) for e in bo.edges] == [("works_at", "Initech")]
        assert len(provider.calls) == 2 and "Bo works at Initech." in str(provider.calls[1])
    finally:
        await service.close()
        await gateway.aclose()


async def test_graph_off_in_settings_writes_no_graph(database: Database) -> None:
    service = await open_memory(
        Settings(memory={"graph": False}), database, embedder=HashingEmbedder(dimensions=32)
    )
    try:
        await service.remember("Bo works at Initech.", namespace="user:g")
        assert await service.graph("bo", namespaces="user:g") == []
    finally:
        await service.close()
