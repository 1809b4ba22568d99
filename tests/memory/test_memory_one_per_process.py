"""One memory service per process: the MCP endpoint `sophia serve` mounts uses the server's own service."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from starlette.applications import Starlette

from sophia.accounts import AccountService
from sophia.config import Settings
from sophia.mcp import install_mcp
from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database


async def test_the_servers_mcp_runtime_shares_the_servers_memory_service(
    database: Database, tmp_path: Path
) -> None:
    memory = await MemoryService.open(database, HashingEmbedder(dimensions=64), index_path=tmp_path / "v.npz")
    app = Starlette()
    app.state.services = SimpleNamespace(
        settings=Settings(home=tmp_path), database=database, accounts=AccountService(database), memory=memory
    )
    endpoint = install_mcp(app)
    async with app.router.lifespan_context(app):
        assert endpoint.runtime is not None and endpoint.runtime.memory is memory
        assert "memory.recall" in endpoint.runtime.registry
    memory_id = await memory.remember("still open after the MCP runtime closed", namespace="global")
    assert [h.memory.id for h in await memory.recall("MCP runtime closed", "global")] == [memory_id]
    await memory.close()
