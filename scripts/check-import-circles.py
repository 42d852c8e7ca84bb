#!/usr/bin/env python3
"""No import circles inside a crate: a module never uses one that uses it back.

A module is a file of a crate's `src/`. A file uses another when it names a
path into it: `use crate::a::{b, c::d}`, `super::x`, `self::x`, or a path
that starts with one of its own child modules (`child::f()`). A path
resolves to the deepest module file it names (`crate::a::b::Item` is
`src/a/b.rs` if it exists, else `src/a.rs`). `#[cfg(test)]` modules inside
a file are left out: tests may use what they test.

Usage: check-import-circles.py [SRC_DIR ...]   (default: every crate's src/)
Exits 1 and prints each circle when one is found.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(src: Path) -> dict[tuple[str, ...], Path]:
    """Every module file of `src`, by its path from the crate root."""
    found = {}
    library = (src / "lib.rs").exists()
    for path in src.rglob("*.rs"):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[0] == "bin" or (library and parts == ("main",)):
            continue  # binaries are crates of their own, using the library by name
        if parts in (("lib",), ("main",)):
            parts = ()
        elif parts[-1] == "mod":
            parts = parts[:-1]
        found[parts] = path
    return found


def strip(text: str) -> str:
    """The code of `text` without comments, string literals and test modules."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    while (m := re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[: m.start()] + text[i:]
    return text


def use_paths(tree: str) -> list[list[str]]:
    """The paths a use tree names: `a::{b, c::{d, e}}` → a::b, a::c::d, a::c::e."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        path = re.sub(r"\s+as\s+\w+$", "", tree).strip()
        return [[s for s in path.split("::") if s]] if path else []
    prefix = [s for s in tree[:brace].split("::") if s]
    inner = tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    paths = []
    for part in parts:
        for sub in use_paths(part):
            paths.append(prefix + sub)
        if part.strip() == "self":
            paths.append(prefix)
    return paths


def resolve(path: list[str], here: tuple[str, ...], children: set[str], files) -> tuple[str, ...] | None:
    """The module file `path`, written in module `here`, names."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    if head == "crate":
        base = ()
    elif head == "super":
        base = here[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif head == "self":
        base = here
    elif head in children:
        base, rest = here + (head,), rest
    else:
        return None  # another crate, or a name in scope
    parts = list(base) + rest
    while tuple(parts) not in files and parts:
        parts.pop()
    return tuple(parts)


def graph(src: Path) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    files = modules(src)
    edges = {m: set() for m in files}
    for mod, path in files.items():
        code = strip(path.read_text())
        children = set(re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code, re.M))
        named = []
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            named += use_paths(m.group(1))
        for m in re.finditer(r"(?<![\w:])((?:crate|super|self|\w+)(?:::\w+)+)", code):
            named.append(m.group(1).split("::"))
        for path_ in named:
            target = resolve(path_, mod, children, files)
            if target is not None and target != mod:
                edges[mod].add(target)
    return edges


def circles(edges) -> list[list[tuple[str, ...]]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10_000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def name(module: tuple[str, ...]) -> str:
    return "::".join(module) or "<crate root>"


def main() -> int:
    tracked = subprocess.run(
        ["git", "ls-files", "*Cargo.toml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    sources = [Path(a) for a in sys.argv[1:]] or sorted(
        (ROOT / p).parent for p in tracked if (ROOT / p).parent.joinpath("src").is_dir()
    )
    failed = False
    for source in sources:
        src = source if source.name == "src" else source / "src"
        for component in circles(graph(src)):
            failed = True
            crate = os.path.relpath(src, ROOT)
            print(f"{crate}: import circle: {' ↔ '.join(sorted(map(name, component)))}")
    if not failed:
        print(f"no import circles in {len(sources)} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
