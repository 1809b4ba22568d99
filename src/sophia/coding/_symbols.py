"""What a source file defines and uses: symbols with signatures (Python through `ast`) and the names it refers to."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["FileSummary", "Symbol", "python_summary"]

_MAX_REFERENCES = 400


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    kind: str
    """`class`, `function` or `method` (tree-sitter languages also `type`, `interface`, `impl`)."""
    signature: str
    line: int
    parent: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "signature": self.signature,
            "line": self.line,
            "parent": self.parent,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Symbol:
        return cls(record["name"], record["kind"], record["signature"], record["line"], record.get("parent"))


@dataclass(frozen=True, slots=True)
class FileSummary:
    """One file of the map. `references` are the identifiers the file uses, most used first."""

    path: str
    language: str
    digest: str
    symbols: tuple[Symbol, ...]
    references: tuple[str, ...]
    error: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "language": self.language,
            "digest": self.digest,
            "symbols": [s.to_record() for s in self.symbols],
            "references": list(self.references),
            "error": self.error,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FileSummary:
        return cls(
            record["path"],
            record["language"],
            record["digest"],
            tuple(Symbol.from_record(s) for s in record["symbols"]),
            tuple(record["references"]),
            record.get("error"),
        )

    def defined_names(self) -> set[str]:
        return {s.name for s in self.symbols}


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _class_signature(node: ast.ClassDef) -> str:
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"


def _python_symbols(tree: ast.Module) -> list[Symbol]:
    found: list[Symbol] = []

    def visit(body: list[ast.stmt], parent: str | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                found.append(Symbol(node.name, "class", _class_signature(node), node.lineno, parent))
                visit(node.body, node.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                kind = "method" if parent is not None else "function"
                found.append(Symbol(node.name, kind, _signature(node), node.lineno, parent))
            elif isinstance(node, ast.Assign) and parent is None:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        found.append(Symbol(target.id, "constant", f"{target.id} = …", node.lineno))

    visit(tree.body, None)
    return found


def _python_references(tree: ast.Module) -> tuple[str, ...]:
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            counts[node.id] += 1
        elif isinstance(node, ast.Attribute):
            counts[node.attr] += 1
        elif isinstance(node, ast.ImportFrom):
            counts.update(alias.name for alias in node.names)
    return tuple(name for name, _ in counts.most_common(_MAX_REFERENCES))


def python_summary(path: str, text: str, digest: str) -> FileSummary:
    """A file that does not parse still appears in the map, with the syntax error the model should see."""
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None)
        return FileSummary(path, "python", digest, (), (), f"syntax error at line {line}: {error}")
    return FileSummary(path, "python", digest, tuple(_python_symbols(tree)), _python_references(tree))
