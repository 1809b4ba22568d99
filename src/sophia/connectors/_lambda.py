"""Lambda Cloud (cloud.lambdalabs.com/api/v1): GPU instance types with live capacity, instances, SSH keys, file systems.

Auth is the documented `Authorization: Bearer <api_key>` (Basic with the key as user also works; Bearer is used).
Lambda limits the API to about 1 request a second and `/instance-operations/launch` to 1 every 10 s; the
connector paces itself to 1 request a second (`requests_per_second` overrides) and honours a 429's Retry-After
(a second launch within 10 s is answered 429 by Lambda and retried after the wait it names).
Every answer is wrapped as `{"data": …}`; errors as `{"error": {"code", "message", "suggestion"}}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.tools import SideEffect

__all__ = ["LambdaCloud"]


class LambdaCloud(Connector):
    kind = "lambda"
    title = "Lambda Cloud"
    group = "infra"
    default_base_url = "https://cloud.lambdalabs.com/api/v1"
    docs_url = "https://cloud.lambdalabs.com/api/v1/docs"
    credentials = (Credential("token", "a Lambda Cloud API key (cloud.lambdalabs.com/api-keys)"),)
    default_requests_per_second = 1.0

    async def _data(self, method: str, path: str, **options: Any) -> Any:
        body = await self.http.json(method, path, **options)
        return body.get("data") if isinstance(body, dict) else body

    async def check(self) -> CheckResult:
        keys = await self._data("GET", "/ssh-keys")
        return CheckResult(True, f"API key accepted ({len(keys)} SSH keys)", {"ssh_keys": len(keys)})

    @action("instance_types.list")
    async def instance_types(
        self, available_only: Annotated[bool, "Only types with capacity in some region now."] = False
    ) -> list[dict[str, Any]]:
        """GPU instance types with their price per hour and the regions that have capacity right now."""
        found = []
        for name, entry in (await self._data("GET", "/instance-types")).items():
            kind, regions = entry["instance_type"], entry.get("regions_with_capacity_available", [])
            if available_only and not regions:
                continue
            found.append(
                {
                    "name": name,
                    "description": kind.get("description"),
                    "gpu": kind.get("gpu_description"),
                    "price_usd_per_hour": kind.get("price_cents_per_hour", 0) / 100,
                    "specs": kind.get("specs", {}),
                    "regions_available": [region["name"] for region in regions],
                }
            )
        return sorted(found, key=lambda item: (not item["regions_available"], item["price_usd_per_hour"]))

    @action("instances.list")
    async def list_instances(self) -> list[dict[str, Any]]:
        """Your running instances."""
        return [_instance(item) for item in await self._data("GET", "/instances")]

    @action("instances.get")
    async def get_instance(self, instance_id: Annotated[str, "The instance's id."]) -> dict[str, Any]:
        """One instance: status, IP, type, region, attached file systems."""
        return _instance(await self._data("GET", f"/instances/{instance_id}"))

    @action("instances.launch", SideEffect.WRITE)
    async def launch(
        self,
        region: Annotated[str, "Region name, e.g. us-east-1 (see instance_types.list)."],
        instance_type: Annotated[str, "Instance type name, e.g. gpu_1x_a100_sxm4."],
        ssh_key_names: Annotated[list[str], "Names of SSH keys already added (exactly one is accepted)."],
        file_system_names: Annotated[list[str] | None, "File systems (same region) to attach."] = None,
        name: Annotated[str | None, "A name for the instance."] = None,
    ) -> dict[str, Any]:
        """Launch a GPU instance (billed per hour from boot until it is terminated)."""
        body: dict[str, Any] = {
            "region_name": region,
            "instance_type_name": instance_type,
            "ssh_key_names": ssh_key_names,
            "file_system_names": file_system_names or [],
        }
        if name:
            body["name"] = name
        data = await self._data("POST", "/instance-operations/launch", json=body)
        return {"instance_ids": data.get("instance_ids", [])}

    @action("instances.restart", SideEffect.WRITE)
    async def restart(self, instance_ids: Annotated[list[str], "Instances to restart."]) -> dict[str, Any]:
        """Restart instances (their processes stop; disks are kept)."""
        data = await self._data("POST", "/instance-operations/restart", json={"instance_ids": instance_ids})
        return {"restarted": [_instance(item) for item in data.get("restarted_instances", [])]}

    @action("instances.terminate", SideEffect.DESTROY)
    async def terminate(
        self, instance_ids: Annotated[list[str], "Instances to terminate."]
    ) -> dict[str, Any]:
        """Terminate instances for good: their local disks are erased (attached file systems are kept)."""
        data = await self._data("POST", "/instance-operations/terminate", json={"instance_ids": instance_ids})
        return {"terminated": [_instance(item) for item in data.get("terminated_instances", [])]}

    @action("ssh_keys.list")
    async def ssh_keys(self) -> list[dict[str, Any]]:
        """SSH keys on the account (public halves)."""
        return [{"id": k["id"], "name": k["name"]} for k in await self._data("GET", "/ssh-keys")]

    @action("ssh_keys.add", SideEffect.WRITE)
    async def add_ssh_key(
        self,
        name: Annotated[str, "A name for the key."],
        public_key: Annotated[
            str, "The public key (ssh-ed25519 …). Sophia never asks Lambda to generate one."
        ],
    ) -> dict[str, Any]:
        """Add an SSH public key that instances can be launched with."""
        data = await self._data("POST", "/ssh-keys", json={"name": name, "public_key": public_key})
        return {"id": data["id"], "name": data["name"]}

    @action("ssh_keys.delete", SideEffect.DESTROY)
    async def delete_ssh_key(self, key_id: Annotated[str, "The key's id."]) -> dict[str, Any]:
        """Delete an SSH key."""
        await self.http.request("DELETE", f"/ssh-keys/{key_id}")
        return {"deleted": key_id}

    @action("file_systems.list")
    async def file_systems(self) -> list[dict[str, Any]]:
        """Persistent file systems: region, mount point, whether in use, bytes used."""
        return [_file_system(item) for item in await self._data("GET", "/file-systems")]

    @action("file_systems.create", SideEffect.WRITE)
    async def create_file_system(
        self, name: Annotated[str, "The file system's name."], region: Annotated[str, "Region name."]
    ) -> dict[str, Any]:
        """Create a persistent file system in a region (billed per GB stored)."""
        data = await self._data("POST", "/filesystems", json={"name": name, "region": region})
        return _file_system(data)

    @action("file_systems.delete", SideEffect.DESTROY)
    async def delete_file_system(
        self, file_system_id: Annotated[str, "The file system's id."]
    ) -> dict[str, Any]:
        """Delete a file system and everything on it."""
        data = await self._data("DELETE", f"/filesystems/{file_system_id}")
        return {"deleted": data.get("deleted_ids", [file_system_id])}


def _instance(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("instance_type") or {}
    return {
        "id": item.get("id"),
        "name": item.get("name"),
        "status": item.get("status"),
        "ip": item.get("ip"),
        "region": (item.get("region") or {}).get("name"),
        "type": kind.get("name"),
        "price_usd_per_hour": kind.get("price_cents_per_hour", 0) / 100 if kind else None,
        "ssh_key_names": item.get("ssh_key_names", []),
        "file_system_names": item.get("file_system_names", []),
        "jupyter_url": item.get("jupyter_url"),
    }


def _file_system(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("id"),
        "name": item.get("name"),
        "region": (item.get("region") or {}).get("name"),
        "mount_point": item.get("mount_point"),
        "in_use": item.get("is_in_use"),
        "bytes_used": item.get("bytes_used"),
        "created": item.get("created"),
    }
