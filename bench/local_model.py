"""The local model out of process against in process, and the portable build against a native one, in one run.

    .venv/bin/python bench/local_model.py                          # in-process vs supervised child, portable build
    .venv/bin/python bench/local_model.py --native-site /tmp/llama-native   # plus a -march=native build

Start-up is the time from nothing to the first streamed token of a first request: for the in-process baseline, a
fresh interpreter's `import llama_cpp` + load + first token (what the provider did before it moved out of process);
for the child, the provider's spawn + import + load + first token. Decode speed is completion tokens per second after
the first token, with the same prompt and greedy sampling everywhere (repeat guard off, repeat penalty 1.0). The
variants take turns round by round, so a busy machine slows them alike; medians are printed with ratios to the
in-process baseline. `--native-site` is a folder holding llama-cpp-python built with -DGGML_NATIVE=ON
(`pip install --no-deps --target DIR WHEEL`); it runs only in the child, so if it crashes, it is a failed row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sophia.gateway.providers import LocalProvider  # noqa: E402
from sophia.gateway.providers._local import default_model_path  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper and the sea."
SAMPLING: dict[str, Any] = {"temperature": 0, "repeat_penalty": 1.0, "stop_on_repeat": False, "seed": 1}

IN_PROCESS = """
import json, sys, time
started = time.perf_counter()
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=4096, verbose=False)
stream = llama.create_chat_completion(
    messages=[{"role": "user", "content": sys.argv[2]}], max_tokens=int(sys.argv[3]), stream=True,
    temperature=0, repeat_penalty=1.0, seed=1)
first = None
tokens = 0
for chunk in stream:
    if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
        tokens += 1
        if first is None:
            first = time.perf_counter()
end = time.perf_counter()
print(json.dumps({"startup": first - started, "tokens": tokens - 1, "decode": end - first}))
"""


def in_process(max_tokens: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(default_model_path()), PROMPT, str(max_tokens)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


async def _child(max_tokens: int) -> dict[str, float]:
    provider = LocalProvider()
    body = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens, **SAMPLING}
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    try:
        async for chunk in provider.stream(body, upstream_model="local"):
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                tokens += 1
                first = first or time.perf_counter()
        end = time.perf_counter()
    finally:
        await provider.aclose()
    assert first is not None
    return {"startup": first - started, "tokens": tokens - 1, "decode": end - first}


def child(max_tokens: int, site: str | None) -> dict[str, float]:
    saved = os.environ.get("PYTHONPATH")
    if site:
        os.environ["PYTHONPATH"] = site
    try:
        return asyncio.run(_child(max_tokens))
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--native-site", help="a folder with llama-cpp-python built with -DGGML_NATIVE=ON")
    options = parser.parse_args()

    variants: dict[str, Any] = {
        "in process (before)": lambda: in_process(options.max_tokens),
        "child process, portable build": lambda: child(options.max_tokens, None),
    }
    if options.native_site:
        variants["child process, native build"] = lambda: child(options.max_tokens, options.native_site)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    failures: dict[str, str] = {}
    for _ in range(options.rounds):
        for name, run in variants.items():
            if name in failures:
                continue
            try:
                results[name].append(run())
            except Exception as error:  # a crashing build is a result, not the end of the benchmark
                failures[name] = f"{type(error).__name__}: {error}"[:200]

    base_start = base_rate = 0.0
    print(f"{'variant':32} {'start-up s':>11} {'ratio':>6} {'tokens/s':>9} {'ratio':>6}")
    for name, runs in results.items():
        if not runs:
            print(f"{name:32} failed: {failures.get(name)}")
            continue
        start = statistics.median(r["startup"] for r in runs)
        rate = statistics.median(r["tokens"] / r["decode"] for r in runs)
        base_start, base_rate = (start, rate) if not base_start else (base_start, base_rate)
        print(f"{name:32} {start:11.3f} {start / base_start:6.2f} {rate:9.1f} {rate / base_rate:6.2f}")
    print(f"cpu: {_cpu_name()}; {options.rounds} rounds of {options.max_tokens} tokens; medians")


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
