"""Symbols and references of non-Python files through tree-sitter (grammars from `tree-sitter-language-pack`)."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from sophia.coding._symbols import FileSummary, Symbol

__all__ = ["LANGUAGES", "language_of", "treesitter_summary"]

LANGUAGES: dict[str, str] = {
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".rb": "ruby",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".php": "php",
    ".kt": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
}

# node type -> symbol kind, over the grammars above
_DEFINITIONS = {
    "function_declaration": "function",
    "function_definition": "function",
    "function_item": "function",
    "generator_function_declaration": "function",
    "method_definition": "method",
    "method_declaration": "method",
    "method": "method",
    "singleton_method": "method",
    "constructor_declaration": "method",
    "class_declaration": "class",
    "class_definition": "class",
    "class_specifier": "class",
    "class": "class",
    "module": "class",
    "struct_item": "type",
    "struct_specifier": "type",
    "enum_item": "type",
    "enum_declaration": "type",
    "trait_item": "interface",
    "interface_declaration": "interface",
    "type_spec": "type",
    "type_alias_declaration": "type",
    "impl_item": "impl",
}
_IDENTIFIERS = frozenset(
    {"identifier", "type_identifier", "field_identifier", "property_identifier", "constant"}
)
_MAX_SIGNATURE = 160
_MAX_REFERENCES = 400


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return LANGUAGES.get(path[dot:].lower()) if dot >= 0 else None


@cache
def _parser(language: str) -> Any:
    from tree_sitter_language_pack import get_parser

    return get_parser(language)  # type: ignore[arg-type]


def _name_of(node: Any) -> str | None:
    name = node.child_by_field_name("name")
    if name is None and node.type == "impl_item":
        name = node.child_by_field_name("type")
    if name is None:
        return None
    text: bytes = name.text or b""
    return text.decode("utf-8", "replace")


def _signature_of(node: Any) -> str:
    text = (node.text or b"").decode("utf-8", "replace")
    head = (
        text.split("{", 1)[0].split("\n", 1)[0] if "{" in text.split("\n", 1)[0] else text.split("\n", 1)[0]
    )
    head = " ".join(head.split())
    return head[:_MAX_SIGNATURE]


def _walk(root: Any) -> tuple[list[Symbol], Counter[str]]:
    symbols: list[Symbol] = []
    counts: Counter[str] = Counter()
    stack: list[tuple[Any, str | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        kind = _DEFINITIONS.get(node.type)
        child_parent = parent
        if kind is not None:
            name = _name_of(node)
            if name:
                if kind == "function" and parent is not None:
                    kind = "method"
                symbols.append(Symbol(name, kind, _signature_of(node), node.start_point[0] + 1, parent))
                if kind in ("class", "type", "interface", "impl"):
                    child_parent = name
        elif node.type in _IDENTIFIERS:
            counts[(node.text or b"").decode("utf-8", "replace")] += 1
        stack.extend((child, child_parent) for child in reversed(node.children))
    symbols.sort(key=lambda s: s.line)
    return symbols, counts


def treesitter_summary(path: str, language: str, text: str, digest: str) -> FileSummary:
    try:
        parser = _parser(language)
    except (ImportError, LookupError, ValueError) as error:
        return FileSummary(path, language, digest, (), (), f"no grammar for {language}: {error}")
    tree = parser.parse(text.encode("utf-8"))
    symbols, counts = _walk(tree.root_node)
    defined = {s.name for s in symbols}
    references = tuple(n for n, _ in counts.most_common(_MAX_REFERENCES + len(defined)) if n not in defined)
    problem = "the file has syntax errors; symbols may be incomplete" if tree.root_node.has_error else None
    return FileSummary(path, language, digest, tuple(symbols), references[:_MAX_REFERENCES], problem)
