#!/usr/bin/env python3
"""Syntax check of Kotlin and Swift sources with tree-sitter grammars.

Neither a Swift compiler nor the Android toolchain runs on this project's
machines, so this is how generated and hand-written sources are at least
parsed: every ERROR or MISSING node a grammar reports is printed as
`file:line:col` and fails the check.

Grammars lag behind the languages, so a few constructs that the real
compilers accept are known false positives. They are masked explicitly in
mask files (scripts/syntax-masks.txt, plus any given with --masks), one
per line:

    language | path glob | regex matched against the offending line | why

Paths (in globs and in the report) are relative to the repository root.

Masked hits are still printed (as "masked"), and a mask that matched
nothing is reported as stale so the list cannot rot silently.

tree-sitter-kotlin also loses its way in long files: its error recovery
can leave an ERROR in code that parses cleanly on its own (UniFFI's
5000-line Kotlin file shows a dozen). So an ERROR is re-checked by
parsing its top-level declaration alone (the lines from one column-0
declaration to the next) and, for a Kotlin class that still fails, the
class member holding it (split by bracket depth, wrapped in a class); if
that parses cleanly, the hit is printed as "context" and does not fail. A
real error -- an unbalanced brace, a broken expression -- still fails
inside its declaration or member.

Usage: check-syntax.py [--masks FILE]... PATH...   (directories or files;
.kt, .kts and .swift files are checked; build output dirs are skipped)
Needs: pip install tree-sitter tree-sitter-kotlin tree-sitter-swift
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Language, Node, Parser

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", "build", "target", ".build", ".gradle", "node_modules"}
EXTENSIONS = {".kt": "kotlin", ".kts": "kotlin", ".swift": "swift"}


def shown(path: Path) -> str:
    """A path as masks see it: relative to the repository root when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def load_languages() -> dict[str, Language]:
    import tree_sitter_kotlin
    import tree_sitter_swift

    return {
        "kotlin": Language(tree_sitter_kotlin.language()),
        "swift": Language(tree_sitter_swift.language()),
    }


@dataclass
class Mask:
    language: str
    glob: str
    pattern: re.Pattern[str]
    reason: str
    origin: str
    used: int = 0

    def covers(self, language: str, path: str, line: str) -> bool:
        return (
            self.language in (language, "*")
            and fnmatch.fnmatch(path, self.glob)
            and self.pattern.search(line) is not None
        )


@dataclass
class Problem:
    path: str
    line: int
    column: int
    kind: str
    text: str
    mask: Mask | None = field(default=None)
    context_only: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        return f"{where}: {self.kind}: {self.text.strip()[:120]}"


def read_masks(path: Path) -> list[Mask]:
    masks = []
    if not path.exists():
        return masks
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split(" | ")]
        if len(parts) != 4:
            sys.exit(f"{path}:{number}: expected 'language | glob | regex | reason'")
        language, glob, regex, reason = parts
        origin = f"{shown(path)}:{number}"
        masks.append(Mask(language, glob, re.compile(regex), reason, origin))
    return masks


def source_files(roots: list[str]) -> list[Path]:
    files = []
    for root in roots:
        path = Path(root)
        if path.is_file():
            files.append(path)
            continue
        if not path.is_dir():
            sys.exit(f"no such file or directory: {root}")
        for directory, subdirs, names in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS)
            files.extend(Path(directory) / n for n in sorted(names))
    return [f for f in files if f.suffix in EXTENSIONS]


def syntax_problems(node: Node, lines: list[str], path: str) -> list[Problem]:
    """The outermost ERROR nodes and every MISSING node under `node`."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            row, column = current.start_point
            kind = "ERROR" if current.is_error else f"MISSING {current.type}"
            line = lines[row] if row < len(lines) else ""
            found.append(Problem(path, row + 1, column + 1, kind, line))
            if current.is_error:
                continue
        if current.has_error:
            stack.extend(reversed(current.children))
    return sorted(found, key=lambda p: (p.line, p.column))


def declaration_span(lines: list[str], line: int) -> tuple[int, int]:
    """The 0-based [start, end) lines of the top-level declaration holding
    1-based `line`: from the last column-0 line that starts something (not a
    closing bracket) at or before it, to the next such line."""

    def starts(text: str) -> bool:
        return bool(text) and not text[0].isspace() and text[0] not in "{}[]()"

    def is_doc_start(index: int) -> bool:
        return lines[index].startswith(("/**", "///", "//", "@"))

    start = line - 1
    while start > 0 and not starts(lines[start]):
        start -= 1
    # Keep the comments and annotations that lead into the declaration.
    while start > 0 and starts(lines[start - 1]) and is_doc_start(start - 1):
        start -= 1
    end = line
    while end < len(lines) and not (starts(lines[end]) and not lines[end].startswith(("/*", "*"))):
        end += 1
    while end > start + 1 and end < len(lines) and is_doc_start(end - 1) and starts(lines[end - 1]):
        end -= 1
    return start, end


def clean(parser: Parser, text: str) -> bool:
    return not parser.parse(text.encode()).root_node.has_error


def member_spans(lines: list[str]) -> list[tuple[int, int]] | None:
    """Splits a declaration `head { members }` into its members by bracket
    depth (string and comment contents are not parsed, so this is a
    heuristic: None when the brackets do not balance)."""
    depth, body_start, spans, member_start = 0, None, [], None
    for index, text in enumerate(lines):
        code = re.sub(r'"(?:\\.|[^"\\])*"|//.*$', '""', text)
        for char in code:
            if char in "{([":
                depth += 1
                if depth == 1 and char == "{" and body_start is None:
                    body_start = index + 1
                    member_start = body_start
            elif char in "})]":
                depth -= 1
                if depth < 0:
                    return None
        if body_start is not None and index >= body_start and depth == 1:
            if member_start is not None and "".join(lines[member_start : index + 1]).strip():
                ends_member = not text.rstrip().endswith((",", "=", ":", "*/", "->")) and not text.strip().startswith(("@", "/**", "*", "//"))
                if ends_member:
                    spans.append((member_start, index + 1))
                    member_start = index + 1
    return spans if depth == 0 and body_start is not None else None


def parses_alone(parser: Parser, language: str, lines: list[str], line: int) -> bool:
    """Whether the code around 1-based `line` parses on its own: its
    top-level declaration, or else (Kotlin classes longer than the grammar
    copes with) the member of that declaration holding the line."""
    start, end = declaration_span(lines, line)
    declaration = lines[start:end]
    if clean(parser, "\n".join(declaration)):
        return True
    if language != "kotlin":
        return False
    spans = member_spans(declaration)
    if not spans:
        return False
    for first, last in spans:
        if first <= line - 1 - start < last:
            member = "\n".join(declaration[first:last])
            return clean(parser, f"class ContextCheck {{\n{member}\n}}")
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument(
        "--masks",
        type=Path,
        action="append",
        default=[],
        help="a mask file, repeatable; scripts/syntax-masks.txt is always read",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every masked hit")
    args = parser.parse_args()
    mask_files = [Path(__file__).with_name("syntax-masks.txt"), *args.masks]

    languages = load_languages()
    parsers = {name: Parser(lang) for name, lang in languages.items()}
    masks = [m for f in mask_files for m in read_masks(f)]
    files = source_files(args.paths)

    failures, masked, context = [], [], []
    counts = {"kotlin": 0, "swift": 0}
    for file in files:
        language = EXTENSIONS[file.suffix]
        counts[language] += 1
        source = file.read_bytes()
        lines = source.decode("utf-8", errors="replace").splitlines()
        tree = parsers[language].parse(source)
        display = shown(file)
        for problem in syntax_problems(tree.root_node, lines, display):
            if problem.kind == "ERROR" and parses_alone(
                parsers[language], language, lines, problem.line
            ):
                problem.context_only = True
                context.append(problem)
                continue
            problem.mask = next(
                (m for m in masks if m.covers(language, display, problem.text)), None
            )
            if problem.mask:
                problem.mask.used += 1
                masked.append(problem)
            else:
                failures.append(problem)

    for mask in masks:
        hits = [p for p in masked if p.mask is mask]
        if not hits:
            continue
        listed = hits if args.verbose else hits[:3]
        more = f", +{len(hits) - len(listed)} more" if len(hits) > len(listed) else ""
        places = ", ".join(f"{p.path}:{p.line}" for p in listed)
        print(f"masked  {len(hits)}x {mask.reason} ({mask.origin}): {places}{more}")
    for problem in context:
        print(f"context {problem}  [its declaration parses alone]")
    for problem in failures:
        print(f"error   {problem}")
    checked_globs = [m for m in masks if m.used == 0 and any_in(m, files)]
    for mask in checked_globs:
        print(f"stale mask (matched nothing): {mask.origin}: {mask.glob} | {mask.pattern.pattern}")
    print(
        f"syntax: {counts['kotlin']} Kotlin and {counts['swift']} Swift files, "
        f"{len(failures)} errors, {len(masked)} masked, {len(context)} context-only"
    )
    return 1 if failures else 0


def any_in(mask: Mask, files: list[Path]) -> bool:
    """Whether the mask's glob covers any checked file (only then can it be stale)."""
    return any(fnmatch.fnmatch(shown(f), mask.glob) for f in files)


if __name__ == "__main__":
    sys.exit(main())
