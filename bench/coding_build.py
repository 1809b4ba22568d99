"""Build the coding benchmark's task set: small pure-Python sdists from PyPI, one seeded bug each.

Run once at build time (it downloads sdists with `pip download`; nothing is downloaded when the benchmark runs):

    python3 bench/coding_build.py            # writes bench/data/coding/{tasks.json,fixes.json,*.tar.gz}

For each project: unpack the sdist, run its tests with the system python3's pytest (what the sandbox has), then
try mutations found with `ast` in its own source (a changed comparison, an off-by-one, a dropped branch, a
wrong default) until one makes between 1 and 15 passing tests fail. The buggy tree becomes a one-commit git
repository packed as `<id>.tar.gz`; the task names the failing tests; the fix is the reversing unified diff.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "coding"
PYTHON = "/usr/bin/python3"

PROJECTS = [
    "inflection==0.5.1",
    "more-itertools==10.5.0",
    "jmespath==1.0.1",
    "semver==3.0.2",
    "webcolors==24.8.0",
    "cachetools==5.5.0",
    "parse==1.20.2",
    "tomli==2.0.2",
    "pathspec==0.12.1",
    "toolz==1.0.0",
    "wcwidth==0.2.13",
    "idna==3.10",
    "sortedcontainers==2.4.0",
    "boltons==24.1.0",
    "isodate==0.7.2",
    "pytimeparse==1.1.8",
    "iso8601==2.1.0",
    "decorator==5.1.1",
    "six==1.16.0",
    "unidecode==1.3.8",
    "colorama==0.4.6",
    "markupsafe==3.0.2",
    "tabulate==0.9.0",
    "text-unidecode==1.3",
    "docopt==0.6.2",
    "pyparsing==3.2.0",
]
_SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
_DROP = ("[", "{")


@dataclass
class Mutation:
    path: str
    line: int
    old: str
    new: str
    kind: str
    function: str


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node


def _line_mutations(path: str, text: str) -> Iterator[Mutation]:  # noqa: C901
    """Single-line mutations inside functions, found with `ast` and applied to the line's text."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    lines = text.splitlines()
    for function, node in _functions(tree):
        for inner in ast.walk(node):
            line_no = getattr(inner, "lineno", None)
            if line_no is None or getattr(inner, "end_lineno", line_no) != line_no:
                continue
            line = lines[line_no - 1]
            if isinstance(inner, ast.Compare) and len(inner.ops) == 1 and type(inner.ops[0]) in _SWAPS:
                old_op = {
                    ast.Lt: " < ",
                    ast.LtE: " <= ",
                    ast.Gt: " > ",
                    ast.GtE: " >= ",
                    ast.Eq: " == ",
                    ast.NotEq: " != ",
                }[type(inner.ops[0])]
                new_op = {
                    ast.Lt: " <= ",
                    ast.LtE: " < ",
                    ast.Gt: " >= ",
                    ast.GtE: " > ",
                    ast.Eq: " != ",
                    ast.NotEq: " == ",
                }[type(inner.ops[0])]
                if line.count(old_op) == 1:
                    yield Mutation(
                        path, line_no, line, line.replace(old_op, new_op), "changed operator", function
                    )
            elif (
                isinstance(inner, ast.BinOp)
                and isinstance(inner.right, ast.Constant)
                and inner.right.value == 1
            ):
                for old_op, new_op in ((" + 1", " + 2"), (" - 1", "")):
                    if line.count(old_op) == 1:
                        yield Mutation(
                            path, line_no, line, line.replace(old_op, new_op), "off-by-one", function
                        )
            elif isinstance(inner, ast.If) and not inner.orelse and len(inner.body) == 1:
                body = inner.body[0]
                if (
                    isinstance(body, ast.Return | ast.Raise | ast.Continue | ast.Break)
                    and body.lineno == line_no + 1
                ):
                    pass
        if isinstance(node, ast.FunctionDef) and node.args.defaults:
            default = node.args.defaults[-1]
            if (
                isinstance(default, ast.Constant)
                and isinstance(default.value, bool)
                and default.lineno == node.lineno
            ):
                line = lines[default.lineno - 1]
                old = f"={default.value}"
                if line.count(old) == 1:
                    yield Mutation(
                        path,
                        default.lineno,
                        line,
                        line.replace(old, f"={not default.value}"),
                        "wrong default",
                        function,
                    )


def _branch_drops(path: str, text: str) -> Iterator[Mutation]:
    """Drop an `if cond: return/raise ...` guard of two lines (the guard line becomes `if False:`)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    lines = text.splitlines()
    for function, node in _functions(tree):
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.If)
                and not inner.orelse
                and len(inner.body) == 1
                and inner.test.lineno == inner.lineno
            ):
                line = lines[inner.lineno - 1]
                if (
                    isinstance(inner.body[0], ast.Return | ast.Raise)
                    and line.rstrip().endswith(":")
                    and line.strip().startswith("if ")
                ):
                    indent = line[: len(line) - len(line.lstrip())]
                    yield Mutation(
                        path,
                        inner.lineno,
                        line,
                        f"{indent}if False:  # {line.strip()[3:-1][:60]}",
                        "dropped branch",
                        function,
                    )


def _env(root: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8"}
    if (root / "src").is_dir():
        env["PYTHONPATH"] = "src"
    return env


def _run_tests(root: Path, timeout: float = 120.0) -> tuple[set[str], set[str]] | None:
    command = [PYTHON, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"]
    try:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8"}
        if (root / "src").is_dir():
            env["PYTHONPATH"] = "src"
        done = subprocess.run(
            command,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_env(root),
        )
    except subprocess.TimeoutExpired:
        return None
    passed = set(re.findall(r"^PASSED (\S+)", done.stdout, re.MULTILINE))
    failed = set(re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE))
    return passed, failed


def _source_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if re.search(
            r"(^|/)(tests?|testing|docs?|examples?|benchmarks?)/|(^|/)(test_|conftest|setup\.py)|_test\.py$|tests?\.py$",
            relative,
        ):
            continue
        files.append(path)
    return files


def _unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (top,) = [p for p in into.iterdir() if p.is_dir()]
    for junk in ("docs", "doc", ".github", "benchmarks"):
        shutil.rmtree(top / junk, ignore_errors=True)
    for egg in top.glob("*.egg-info"):
        shutil.rmtree(egg, ignore_errors=True)
    return top


def _git_repo(tree: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tree),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@sophia.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@sophia.invalid",
        "GIT_AUTHOR_DATE": "2026-12-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-12-01T00:00:00Z",
    }
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "import"],
    ):
        subprocess.run(command, cwd=tree, check=True, env=env)


def _pack(tree: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz", compresslevel=9) as archive:
        archive.add(tree, arcname=tree.name, filter=lambda info: None if "__pycache__" in info.name else info)


def _try_project(spec: str, sdists: Path, work: Path, per_project: int = 2) -> list[dict[str, object]] | None:
    built: list[dict[str, object]] = []
    name = spec.split("==")[0]
    found = sorted(sdists.glob(f"{name.replace('-', '_')}-*.tar.gz")) + sorted(
        sdists.glob(f"{name}-*.tar.gz")
    )
    if not found:
        print(f"{spec}: no sdist", file=sys.stderr)
        return None
    top = _unpack(found[0], work / name)
    baseline = _run_tests(top)
    if baseline is None or len(baseline[0]) < 5:
        print(f"{spec}: the tests do not run here ({baseline and len(baseline[0])} passed)", file=sys.stderr)
        return None
    passed_before, failed_before = baseline
    candidates = [
        m
        for path in _source_files(top)
        for m in (
            *_line_mutations(path.relative_to(top).as_posix(), path.read_text()),
            *_branch_drops(path.relative_to(top).as_posix(), path.read_text()),
        )
    ]
    for mutation in candidates[:: max(1, len(candidates) // 12)][:12]:
        path = top / mutation.path
        original = path.read_text()
        lines = original.splitlines(keepends=True)
        ending = "\n" if lines[mutation.line - 1].endswith("\n") else ""
        lines[mutation.line - 1] = mutation.new + ending
        path.write_text("".join(lines))
        outcome = _run_tests(top)
        if outcome is not None:
            broke = passed_before - outcome[0]
            if 1 <= len(broke) <= 15 and outcome[0] | outcome[1]:
                fix = "".join(
                    difflib.unified_diff(
                        path.read_text().splitlines(keepends=True),
                        original.splitlines(keepends=True),
                        f"a/{mutation.path}",
                        f"b/{mutation.path}",
                    )
                )
                built.append(
                    _record(
                        spec, top, mutation, sorted(broke), sorted(passed_before - broke), fix, len(built)
                    )
                )
                if len(built) >= per_project:
                    path.write_text(original)
                    break
        path.write_text(original)
    if built:
        return built
    print(f"{spec}: no mutation broke 1-15 tests", file=sys.stderr)
    return None


def _record(
    spec: str, top: Path, mutation: Mutation, broke: list[str], kept: list[str], fix: str, index: int
) -> dict[str, object]:
    task_id = spec.split("==")[0].replace("_", "-") + (f"-{index + 1}" if index else "")
    shown = ", ".join(broke[:3]) + (f" and {len(broke) - 3} more" if len(broke) > 3 else "")
    task = (
        f"A bug in `{mutation.function}` ({mutation.path}) makes tests fail: {shown}. "
        "Find and fix the bug in the library code; do not change the tests."
    )
    repo_dir = top.parent / "packed" / task_id
    shutil.copytree(top, repo_dir, ignore=shutil.ignore_patterns("__pycache__"))
    _git_repo(repo_dir)
    _pack(repo_dir, DATA / f"{task_id}.tar.gz")
    shutil.rmtree(repo_dir)
    print(
        f"{spec}: {mutation.kind} in {mutation.path}:{mutation.line} breaks {len(broke)} test(s)",
        file=sys.stderr,
    )
    return {
        "task": {
            "id": task_id,
            "repo": f"{task_id}.tar.gz",
            "task": task,
            "fail_to_pass": broke,
            "test_command": (
                "PYTHONPATH=src python3 -m pytest -q -p no:cacheprovider"
                if (top / "src").is_dir()
                else "python3 -m pytest -q -p no:cacheprovider"
            ),
            "pass_to_pass": kept,
            "seeded": mutation.kind,
            "project": spec,
        },
        "fix": fix,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sdists", type=Path, default=Path("/tmp/sophia-bench-sdists"))
    parser.add_argument("--limit", type=int, default=26)
    args = parser.parse_args()
    args.sdists.mkdir(parents=True, exist_ok=True)
    for spec in PROJECTS:
        if not list(args.sdists.glob(f"{spec.split('==')[0].replace('-', '_')}-*")) and not list(
            args.sdists.glob(f"{spec.split('==')[0]}-*")
        ):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "--no-build-isolation",
                    "-d",
                    str(args.sdists),
                    spec,
                ],
                check=False,
            )
    DATA.mkdir(parents=True, exist_ok=True)
    tasks, fixes = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for spec in PROJECTS:
            if len(tasks) >= args.limit:
                break
            built = _try_project(spec, args.sdists, Path(scratch))
            for item in built or []:
                task = item["task"]
                tasks.append(task)
                fixes[task["id"]] = item["fix"]  # type: ignore[index]
    (DATA / "tasks.json").write_text(json.dumps(tasks, indent=1) + "\n")
    (DATA / "fixes.json").write_text(json.dumps(fixes, indent=1) + "\n")
    print(f"built {len(tasks)} tasks in {DATA}", file=sys.stderr)


if __name__ == "__main__":
    main()
