#!/usr/bin/env python3
"""Checks tests/sdk/reference_payload.py against the Payload API reference.

    scripts/check-reference-examples.py REFERENCE

REFERENCE is the text of the Payload API reference (payload-api-reference.txt).
Every example the suite holds (`E<line> = r\"\"\"...\"\"\"`) must be the
reference's text starting at that line, character for character; and every
line of the reference that starts a Python statement must lie inside one of
them. The reference prints each example in several languages one after the
other; a line counts as Python unless it reads as curl, Ruby, PHP,
JavaScript or C#. Prints what differs or is missing; exits 1 if anything does.
"""

import ast
import re
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent.parent / "tests" / "sdk" / "reference_payload.py"

# A line that starts a Python statement of an example.
PYTHON_START = re.compile(
    r"^(import payload|from payload|from datetime|import datetime|@server\.|"
    r"(\w+(, \w+)* = )?(pl|payload)\.|\w+\.(update|delete|charge)\(|print\(|for \w+ in .*:$|if .*:$)"
)
# Lines of the other languages that PYTHON_START would take.
OTHER_LANGUAGE = re.compile(
    r"(\(\{|\.then\(|new pl\.|new \{|new\[\]|^var |;\s*$|=>|function\s*\(|Payload::|\$\w|^puts |"
    r"\(\s*\w+:\s|^\s*\w+: |^if \(|\bdo\b|console\.|\bDateTime\b|\bnew Date\b|require\()"
)


def statement(reference, start):
    """The lines of the statement starting at line `start` (1-based): until
    its brackets close and no continuation (`.then(...)`) follows."""
    lines, depth, number = [], 0, start
    while number <= len(reference):
        text = reference[number - 1]
        lines.append(text)
        depth += sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")
        number += 1
        following = reference[number - 1] if number <= len(reference) else ""
        if depth <= 0 and not re.match(r"\s+\.", following) and not text.endswith("\\"):
            break
    return lines


def is_python(reference, number):
    """Whether line `number` starts a Python statement of an example."""
    text = reference[number - 1]
    if not PYTHON_START.match(text):
        return False
    previous = reference[number - 2] if number > 1 else ""
    # After `var pl = require(...)` or a PHP block come JavaScript lines;
    # a statement printed again at once is another language's copy.
    if OTHER_LANGUAGE.search(previous) or previous.strip() == "?>" or previous == text:
        return False
    return not any(OTHER_LANGUAGE.search(line) for line in statement(reference, number))


def examples(suite):
    """The suite's examples: line → text."""
    found = {}
    for node in ast.parse(suite.read_text()).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        name = getattr(node.targets[0], "id", "")
        match = re.fullmatch(r"E(\d+)", name)
        if not match:
            continue
        value = node.value
        if isinstance(value, ast.Name):  # the same text printed twice
            continue
        found[int(match.group(1))] = value.value.strip("\n")
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    reference = Path(sys.argv[1]).read_text().split("\n")
    held = examples(SUITE)
    problems = []
    covered = set()
    for line, text in sorted(held.items()):
        lines = text.split("\n")
        printed = reference[line - 1 : line - 1 + len(lines)]
        if printed != lines:
            problems.append(f"line {line}: the suite's text is not the reference's")
        covered.update(range(line, line + len(lines)))
    # E1884 = E1793: the same text, printed again at 1884.
    for node in ast.parse(SUITE.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            line = int(node.targets[0].id[1:])
            text = held[int(node.value.id[1:])].split("\n")
            if reference[line - 1 : line - 1 + len(text)] != text:
                problems.append(f"line {line}: the suite's text is not the reference's")
            covered.update(range(line, line + len(text)))
    for number, text in enumerate(reference, start=1):
        if number not in covered and is_python(reference, number):
            problems.append(f"line {number}: a Python example the suite does not hold: {text.strip()}")
    for problem in problems:
        print(problem)
    print(f"{len(held)} examples checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
