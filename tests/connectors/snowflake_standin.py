"""A Snowflake SQL API v2 double checked by Snowflake's OpenAPI document: statements answer 202 (still running)
`polls` times, then a two-partition result set in the documented jsonv2 shape; `/cancel` is recorded."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.connectors.infra_kit import DATA
from tests.connectors.openapi import OpenApi, SpecService

SPEC = OpenApi(DATA / "snowflake" / "openapi.json")
HANDLE = "01b2c3d4-0000-4a5b-8000-000000000001"
ROW_TYPE = [
    {"name": "ACCOUNT_ID", "type": "FIXED", "length": 0, "precision": 38, "scale": 0, "nullable": False},
    {"name": "ARR", "type": "FIXED", "length": 0, "precision": 12, "scale": 2, "nullable": True},
    {"name": "NAME", "type": "TEXT", "length": 16777216, "precision": 0, "scale": 0, "nullable": True},
    {"name": "CLOSED_ON", "type": "DATE", "length": 0, "precision": 0, "scale": 0, "nullable": True},
    {"name": "UPDATED", "type": "TIMESTAMP_NTZ", "length": 0, "precision": 0, "scale": 9, "nullable": True},
    {"name": "ACTIVE", "type": "BOOLEAN", "length": 0, "precision": 0, "scale": 0, "nullable": True},
    {"name": "TAGS", "type": "VARIANT", "length": 0, "precision": 0, "scale": 0, "nullable": True},
]
PARTITIONS = [
    [
        ["1", "12000.50", "Acme", "20424", "1764590400.000000000", "true", '["enterprise"]'],
        ["2", None, "Globex", None, "1764590460.500000000", "false", "[]"],
    ],
    [["3", "99.00", "Initech", "20425", "1764590520.000000000", "true", '{"tier": 2}']],
]


class SnowflakeService(SpecService):
    def __init__(self, polls: int = 1) -> None:
        self.polls = polls
        self.cancelled: list[str] = []
        self.statements: list[dict[str, Any]] = []
        self.fail_with: dict[str, Any] | None = None
        super().__init__(SPEC, self._routes())

    def _result(self) -> dict[str, Any]:
        return {
            "code": "090001",
            "sqlState": "00000",
            "message": "Statement executed successfully.",
            "statementHandle": HANDLE,
            "createdOn": 1764590400000,
            "statementStatusUrl": f"/api/v2/statements/{HANDLE}",
            "resultSetMetaData": {
                "format": "jsonv2",
                "numRows": 3,
                "rowType": ROW_TYPE,
                "partitionInfo": [
                    {"rowCount": 2, "uncompressedSize": 120},
                    {"rowCount": 1, "uncompressedSize": 60},
                ],
            },
            "data": PARTITIONS[0],
        }

    def _running(self) -> tuple[int, dict[str, str], Any]:
        return (
            202,
            {},
            {
                "code": "333334",
                "message": "Asynchronous execution in progress. Use provided query id to perform query"
                " monitoring and management.",
                "statementHandle": HANDLE,
                "statementStatusUrl": f"/api/v2/statements/{HANDLE}",
            },
        )

    def _routes(self) -> dict[tuple[str, str], Any]:
        def submit(request: httpx.Request) -> Any:
            self.statements.append(json.loads(request.content))
            return self._running()

        def status(request: httpx.Request) -> Any:
            partition = request.url.params.get("partition")
            if partition not in (None, "0"):
                return {"data": PARTITIONS[int(partition)]}
            if self.fail_with is not None:
                return 422, {}, self.fail_with
            if self.polls > 0:
                self.polls -= 1
                return self._running()
            return self._result()

        def cancel(request: httpx.Request) -> Any:
            self.cancelled.append(request.url.path.split("/")[-2])
            return {"message": "successfully canceled", "statementHandle": HANDLE}

        return {
            ("POST", "/api/v2/statements"): submit,
            ("GET", "/api/v2/statements/{statementHandle}"): status,
            ("POST", "/api/v2/statements/{statementHandle}/cancel"): cancel,
        }
