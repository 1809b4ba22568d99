"""Fly.io Machines API (api.machines.dev/v1): apps, machines, volumes, secrets, status, and image deploys.

Auth: `Authorization: Bearer <token>` (a `fly tokens create` token; a `FlyV1 …` token is sent as it is).
Scaling is done as flyctl does it: adding machines clones an existing machine's config; removing destroys the
newest machines. Secret values are sent to Fly and never returned, logged, or shown in a dry run.
Fly limits the Machines API per action (about 1 request/s with bursts, more for reads); 429s carry Retry-After.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from sophia.connectors._auth import Auth, HeaderToken, Resolve
from sophia.connectors._errors import ConnectorError, ConnectorInvalid, ConnectorUnavailable
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.observability import redactor
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect

__all__ = ["Fly"]


class _FlyToken(HeaderToken):
    async def headers(self) -> dict[str, str]:
        token = self._resolve(self._credential)
        return {"Authorization": token if token.startswith("FlyV1 ") else f"Bearer {token}"}


class Fly(Connector):
    kind = "fly"
    title = "Fly.io"
    group = "infra"
    default_base_url = "https://api.machines.dev/v1"
    docs_url = "https://fly.io/docs/machines/api/"
    credentials = (Credential("token", "a Fly.io API token (`fly tokens create org` or `deploy`)"),)

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        return _FlyToken(resolve)

    @property
    def org_slug(self) -> str:
        return str(self.options.get("org_slug", "personal"))

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/apps", params={"org_slug": self.org_slug})
        return CheckResult(True, f"token accepted ({body.get('total_apps', 0)} apps in {self.org_slug})")

    @action("apps.list")
    async def apps(
        self, org_slug: Annotated[str | None, "Organization (default: option org_slug)."] = None
    ) -> list[dict[str, Any]]:
        """The organization's apps with their machine counts."""
        body = await self.http.json("GET", "/apps", params={"org_slug": org_slug or self.org_slug})
        return [_pick(a, "id", "name", "machine_count", "network") for a in body.get("apps", [])]

    @action("apps.get")
    async def app(self, app_name: Annotated[str, "The app's name."]) -> dict[str, Any]:
        """One app: status and organization."""
        body = await self.http.json("GET", f"/apps/{app_name}")
        return {**_pick(body, "id", "name", "status"), "org": (body.get("organization") or {}).get("slug")}

    @action("apps.create", SideEffect.WRITE)
    async def create_app(
        self,
        app_name: Annotated[str, "A globally unique app name."],
        org_slug: Annotated[str | None, "Organization (default: option org_slug)."] = None,
        network: Annotated[str | None, "A private network name to isolate the app in."] = None,
    ) -> dict[str, Any]:
        """Create an app (no machines yet)."""
        body: dict[str, Any] = {"app_name": app_name, "org_slug": org_slug or self.org_slug}
        if network:
            body["network"] = network
        await self.http.request("POST", "/apps", json=body)
        return {"created": app_name}

    @action("machines.list")
    async def machines(self, app_name: Annotated[str, "The app's name."]) -> list[dict[str, Any]]:
        """The app's machines: id, state, region, image."""
        return [_machine(m) for m in await self.http.json("GET", f"/apps/{app_name}/machines")]

    @action("machines.get")
    async def machine(self, app_name: str, machine_id: Annotated[str, "The machine's id."]) -> dict[str, Any]:
        """One machine, with its guest size and recent events."""
        body = await self.http.json("GET", f"/apps/{app_name}/machines/{machine_id}")
        return {
            **_machine(body),
            "events": [_pick(e, "type", "status", "timestamp") for e in body.get("events", [])[:5]],
        }

    @action("machines.create", SideEffect.WRITE)
    async def create_machine(
        self,
        app_name: str,
        image: Annotated[str, "The image to run, e.g. registry.fly.io/app:deployment-…"],
        region: Annotated[str | None, "Region code, e.g. ams."] = None,
        name: Annotated[str | None, "Machine name."] = None,
        cpus: Annotated[int, "Shared CPUs."] = 1,
        memory_mb: Annotated[int, "Memory in MB."] = 256,
        env: Annotated[dict[str, str] | None, "Environment variables (not secrets: use secrets.set)."] = None,
    ) -> dict[str, Any]:
        """Create and start a machine running an image (billed while it runs)."""
        config: dict[str, Any] = {
            "image": image,
            "guest": {"cpu_kind": "shared", "cpus": cpus, "memory_mb": memory_mb},
        }
        if env:
            config["env"] = env
        body: dict[str, Any] = {"config": config}
        body.update({k: v for k, v in (("region", region), ("name", name)) if v})
        return _machine(await self.http.json("POST", f"/apps/{app_name}/machines", json=body))

    @action("machines.start", SideEffect.WRITE)
    async def start(self, app_name: str, machine_id: str) -> dict[str, Any]:
        """Start a stopped machine."""
        await self.http.request("POST", f"/apps/{app_name}/machines/{machine_id}/start")
        return {"machine_id": machine_id, "requested": "start"}

    @action("machines.stop", SideEffect.WRITE)
    async def stop(self, app_name: str, machine_id: str) -> dict[str, Any]:
        """Stop a running machine (its config and volume stay; it can be started again)."""
        await self.http.request("POST", f"/apps/{app_name}/machines/{machine_id}/stop", json={})
        return {"machine_id": machine_id, "requested": "stop"}

    @action("machines.restart", SideEffect.WRITE)
    async def restart(self, app_name: str, machine_id: str) -> dict[str, Any]:
        """Restart a machine."""
        await self.http.request("POST", f"/apps/{app_name}/machines/{machine_id}/restart")
        return {"machine_id": machine_id, "requested": "restart"}

    @action("machines.destroy", SideEffect.DESTROY)
    async def destroy(
        self, app_name: str, machine_id: str, force: Annotated[bool, "Destroy even if it is running."] = False
    ) -> dict[str, Any]:
        """Destroy a machine for good (its root file system is lost)."""
        params = {"force": "true"} if force else None
        await self.http.request("DELETE", f"/apps/{app_name}/machines/{machine_id}", params=params)
        return {"destroyed": machine_id}

    @action("machines.scale", SideEffect.DESTROY)
    async def scale(
        self,
        app_name: str,
        count: Annotated[int, "How many machines the app should have."],
        region: Annotated[str | None, "Only count (and add) machines in this region."] = None,
    ) -> dict[str, Any]:
        """Set the number of machines like `fly scale count`: clone the newest machine's config, or destroy the
        newest surplus machines (DESTROY: scaling down loses those machines)."""
        if count < 0:
            raise ConnectorInvalid("count must be 0 or more", service=self.title)
        found = await self.http.json("GET", f"/apps/{app_name}/machines")
        pool = sorted(
            (m for m in found if region is None or m.get("region") == region),
            key=lambda m: str(m.get("created_at", "")),
        )
        added, removed = [], []
        if len(pool) < count:
            if not pool:
                raise ConnectorInvalid(
                    f"{app_name} has no machine to copy; create one first", service=self.title
                )
            template = pool[-1]
            for _ in range(count - len(pool)):
                body = {"config": template["config"], "region": region or template.get("region")}
                added.append(
                    _machine(await self.http.json("POST", f"/apps/{app_name}/machines", json=body))["id"]
                )
        for surplus in reversed(pool[count:]):
            await self.http.request(
                "DELETE", f"/apps/{app_name}/machines/{surplus['id']}", params={"force": "true"}
            )
            removed.append(surplus["id"])
        return {"count": count, "added": added, "destroyed": removed}

    @action("volumes.list")
    async def volumes(self, app_name: str) -> list[dict[str, Any]]:
        """The app's volumes: size, region, attached machine."""
        return [_volume(v) for v in await self.http.json("GET", f"/apps/{app_name}/volumes")]

    @action("volumes.create", SideEffect.WRITE)
    async def create_volume(
        self, app_name: str, name: str, region: str, size_gb: Annotated[int, "Size in GB."] = 1
    ) -> dict[str, Any]:
        """Create a volume (billed per GB provisioned)."""
        body = {"name": name, "region": region, "size_gb": size_gb}
        return _volume(await self.http.json("POST", f"/apps/{app_name}/volumes", json=body))

    @action("volumes.delete", SideEffect.DESTROY)
    async def delete_volume(self, app_name: str, volume_id: str) -> dict[str, Any]:
        """Delete a volume and its data."""
        await self.http.request("DELETE", f"/apps/{app_name}/volumes/{volume_id}")
        return {"deleted": volume_id}

    @action("secrets.list")
    async def secrets(self, app_name: str) -> list[dict[str, Any]]:
        """The app's secret names and digests (Fly never returns values; neither does Sophia)."""
        body = await self.http.json("GET", f"/apps/{app_name}/secrets")
        items = body.get("secrets", []) if isinstance(body, dict) else body
        return [
            {
                "name": s.get("name") or s.get("label"),
                "digest": s.get("digest"),
                "updated_at": s.get("updated_at"),
            }
            for s in items
        ]

    @action("secrets.set", SideEffect.WRITE)
    async def set_secrets(
        self,
        app_name: str,
        values: Annotated[dict[str, str], "Secret names and values (values stay secret)."],
    ) -> dict[str, Any]:
        """Set secrets on the app (machines see them as environment variables after their next update)."""
        for value in values.values():
            redactor.add(value)
        await self.http.request("POST", f"/apps/{app_name}/secrets", json={"values": values})
        return {"set": sorted(values)}

    @action("secrets.unset", SideEffect.WRITE)
    async def unset_secret(self, app_name: str, name: Annotated[str, "The secret's name."]) -> dict[str, Any]:
        """Remove one secret from the app."""
        await self.http.request("DELETE", f"/apps/{app_name}/secrets/{name}")
        return {"unset": name}

    @action("status")
    async def status(self, app_name: str) -> dict[str, Any]:
        """The app's state at a glance: its status and each machine's state, region and image (the Machines API
        has no releases list; the image per machine is what is deployed)."""
        app = await self.app(app_name)
        machines = await self.machines(app_name)
        images = sorted({m["image"] for m in machines if m.get("image")})
        return {**app, "machines": machines, "images": images, "consistent": len(images) <= 1}

    @action("deploy", SideEffect.WRITE)
    async def deploy(
        self,
        app_name: str,
        image: Annotated[str, "The new image for every machine."],
        wait_seconds: Annotated[int, "How long to wait for each machine to be started (max 60)."] = 60,
    ) -> dict[str, Any]:
        """Roll an image out one machine at a time, each under a lease (so no other deploy touches it meanwhile),
        waiting until it is started. If a machine fails to update or start, every machine already moved to the new
        image is put back on its previous config, and the failure says so."""
        moved: list[dict[str, Any]] = []
        done = []
        for found in await self.http.json("GET", f"/apps/{app_name}/machines"):
            try:
                updated = await self._update_and_wait(
                    app_name, found, {**found["config"], "image": image}, wait_seconds
                )
            except ConnectorError as failure:
                restored = await self._roll_back(app_name, [found, *reversed(moved)], wait_seconds)
                raise ConnectorUnavailable(
                    f"Fly.io: deploying {image} failed on machine {found['id']} ({failure.message}); "
                    f"{restored} of {len(moved) + 1} machines were put back on their previous image",
                    service="Fly.io",
                ) from None
            moved.append(found)
            done.append({"id": found["id"], "state": "started", "instance_id": updated.get("instance_id")})
        return {"image": image, "machines": done}

    @action("machines.set_images", SideEffect.WRITE)
    async def set_images(
        self,
        app_name: str,
        images: Annotated[dict[str, str], "Machine id -> the image that machine should run."],
        wait_seconds: Annotated[int, "How long to wait for each machine to be started (max 60)."] = 60,
    ) -> dict[str, Any]:
        """Put each named machine on its own image (a rollback to what each ran before), one at a time under a
        lease; a machine that fails is reported and the others are still moved."""
        found = {str(m["id"]): m for m in await self.http.json("GET", f"/apps/{app_name}/machines")}
        unknown = sorted(set(images) - set(found))
        if unknown:
            raise ConnectorInvalid(
                f"{app_name} has no machine {', '.join(unknown)[:200]}", service=self.title
            )
        moved, failed = [], []
        for machine_id, image in images.items():
            machine = found[machine_id]
            try:
                await self._update_and_wait(
                    app_name, machine, {**machine["config"], "image": image}, wait_seconds
                )
                moved.append({"id": machine_id, "image": image})
            except ConnectorError as failure:
                failed.append({"id": machine_id, "image": image, "error": failure.message})
        return {"machines": moved, "failed": failed}

    async def _update_and_wait(
        self, app_name: str, machine: dict[str, Any], config: dict[str, Any], wait_seconds: int
    ) -> dict[str, Any]:
        base = f"/apps/{app_name}/machines/{machine['id']}"
        lease = await self.http.json(
            "POST", f"{base}/lease", json={"ttl": 120, "description": "sophia deploy"}
        )
        nonce = str((lease.get("data") or lease).get("nonce", ""))
        held = {"fly-machine-lease-nonce": nonce} if nonce else {}
        try:
            updated: dict[str, Any] = await self.http.json(
                "POST", base, json={"config": config}, headers=held
            )
            params = {"state": "started", "timeout": max(1, min(wait_seconds, 60))}
            if updated.get("instance_id"):
                params["instance_id"] = updated["instance_id"]
            await self.http.request("GET", f"{base}/wait", params=params)
            return updated
        finally:
            if nonce:
                with contextlib.suppress(ConnectorError):  # an expired lease is released by Fly on its own
                    await self.http.request("DELETE", f"{base}/lease", headers=held)

    async def _roll_back(self, app_name: str, machines: list[dict[str, Any]], wait_seconds: int) -> int:
        """Each machine back on the config it had before the deploy; returns how many made it."""
        restored = 0
        for machine in machines:
            try:
                await self._update_and_wait(app_name, machine, machine["config"], wait_seconds)
                restored += 1
            except ConnectorError:
                continue
        return restored


def _pick(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: item.get(key) for key in keys}


def _machine(item: dict[str, Any]) -> dict[str, Any]:
    config = item.get("config") or {}
    return {
        **_pick(item, "id", "name", "state", "region", "instance_id", "private_ip", "created_at"),
        "image": config.get("image"),
        "guest": config.get("guest"),
    }


def _volume(item: dict[str, Any]) -> dict[str, Any]:
    return _pick(
        item, "id", "name", "state", "region", "size_gb", "attached_machine_id", "encrypted", "created_at"
    )
