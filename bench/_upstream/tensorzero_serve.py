"""Run TensorZero's embedded HTTP gateway (from its Python package) until killed; prints its base URL.

Runs with the TensorZero venv's Python, never the project's: `python tensorzero_serve.py CONFIG`.
"""

import signal
import sys

from tensorzero import _start_http_gateway

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # threads inherit the mask
gateway = _start_http_gateway(
    config_file=sys.argv[1], clickhouse_url=None, postgres_url=None, valkey_url=None, async_setup=False
)
print(gateway.base_url, flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
gateway.close()
