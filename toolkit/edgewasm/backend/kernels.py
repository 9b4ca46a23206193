"""The hand-written SIMD128 kernel library: find the ``.wat`` fragments and pick functions out.

Kernel files (``wasm-kernels/``, shipped as ``edgewasm/wat``) are fragments: top-level
``(func $name ...)`` forms, each preceded by ``;;`` comments documenting its calling convention.
Codegen splices only the kernels a model uses, plus the helpers they call, into its module.
"""

from __future__ import annotations

import functools
import importlib.resources
import pathlib
import re
from collections.abc import Iterable

from .wat_inline import strip_comments, optimize_kernels

# Characters allowed in a wat identifier after the `$` (WebAssembly text format, "idchar").
_IDCHARS = r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+"
_FUNC_HEAD = re.compile(r"\(\s*func\s+\$(" + _IDCHARS + ")")
# References that pull another function into the module.
_CALL = re.compile(r"(?<![\w.$])(?:call|return_call|ref\.func)\s+\$(" + _IDCHARS + ")")


RELAXED_SUFFIX = "_relaxed"  # kernels of the opt-in relaxed-SIMD tier (`--simd relaxed`) end so


def is_relaxed(name: str) -> bool:
    """A kernel that needs relaxed SIMD: only a `--simd relaxed` variant may splice it."""
    return name.endswith(RELAXED_SUFFIX)


def kernel_dir() -> pathlib.Path:
    """The directory holding the kernel ``.wat`` files inside the installed package."""
    return pathlib.Path(str(importlib.resources.files("edgewasm") / "wat"))


def load_library() -> dict[str, str]:
    """Map every kernel function name (without ``$``) to its wat text, leading doc comments included."""
    return dict(_library()[0])


def wat_functions(names: Iterable[str]) -> str:
    """The wat text of ``names`` and every function they transitively call, each once, sorted by name.

    Raises KeyError (listing the known kernels) for a name the library does not define.
    """
    if isinstance(names, str):
        names = [names]
    library, calls = _library()
    needed: set[str] = set()
    pending: list[tuple[str, str | None]] = [(name, None) for name in names]  # (name, its caller)
    while pending:
        name, caller = pending.pop()
        if name in needed:
            continue
        if name not in library:
            called_by = f" (called by ${caller})" if caller else ""
            raise KeyError(f"unknown kernel {name!r}{called_by}; known kernels: {', '.join(sorted(library))}")
        needed.add(name)
        pending.extend((callee, name) for callee in calls[name])
    return "\n\n".join(library[name] for name in sorted(needed)) + ("\n" if needed else "")


@functools.cache
def _library() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Parse all kernel files once: (name -> wat text, name -> names it calls)."""
    texts: dict[str, str] = {}
    calls: dict[str, tuple[str, ...]] = {}
    wat_dir = importlib.resources.files("edgewasm") / "wat"
    for entry in sorted(wat_dir.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".wat"):
            continue
        for name, text, callees in _split_functions(entry.read_text(encoding="utf-8"), entry.name):
            if name in texts:
                raise ValueError(f"{entry.name}: function ${name} is defined twice in the kernel library")
            texts[name] = text
            calls[name] = callees
    texts = optimize_kernels(texts)
    calls = {name: tuple(sorted(set(_CALL.findall(strip_comments(text))))) for name, text in texts.items()}
    return texts, calls


def _split_functions(source: str, filename: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Split a kernel file into (name, text with leading comments, names it calls) per func."""
    functions = []
    for start, end, code in _top_level_forms(source, filename):
        head = _FUNC_HEAD.match(code)
        if head is None:
            line = source.count("\n", 0, start) + 1
            raise ValueError(f"{filename}:{line}: kernel files may only contain (func $name ...) forms")
        text = source[_doc_comment_start(source, start):end]
        functions.append((head.group(1), text, tuple(sorted(set(_CALL.findall(code))))))
    return functions


def _top_level_forms(source: str, filename: str) -> list[tuple[int, int, str]]:
    """(start, end, code with comments blanked) of each top-level parenthesized form.

    A small scanner: skips ``;;`` line comments, nested ``(; ;)`` block comments and ``"strings"``
    so parentheses inside them do not count.
    """
    forms = []
    depth = 0
    start = 0
    code: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if source.startswith(";;", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        if source.startswith("(;", i):
            i = _skip_block_comment(source, i, filename)
            code.append(" ")
            continue
        if ch == '"':
            end = _skip_string(source, i, filename)
            if depth:
                code.append(source[i:end])
            i = end
            continue
        if ch == "(":
            if depth == 0:
                start, code = i, []
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"{filename}:{source.count(chr(10), 0, i) + 1}: unbalanced ')'")
            if depth == 0:
                code.append(ch)
                forms.append((start, i + 1, "".join(code)))
                i += 1
                continue
        elif depth == 0 and not ch.isspace():
            raise ValueError(f"{filename}:{source.count(chr(10), 0, i) + 1}: text outside a form: {ch!r}")
        if depth:
            code.append(ch)
        i += 1
    if depth:
        raise ValueError(f"{filename}: unbalanced '(' (form starting at offset {start} is not closed)")
    return forms


def _skip_block_comment(source: str, i: int, filename: str) -> int:
    """Index just past the (possibly nested) block comment opening at ``i``."""
    depth = 0
    while i < len(source):
        if source.startswith("(;", i):
            depth, i = depth + 1, i + 2
        elif source.startswith(";)", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise ValueError(f"{filename}: unterminated block comment")


def _skip_string(source: str, i: int, filename: str) -> int:
    """Index just past the string literal opening at ``i`` (backslash escapes honoured)."""
    i += 1
    while i < len(source):
        if source[i] == "\\":
            i += 2
        elif source[i] == '"':
            return i + 1
        else:
            i += 1
    raise ValueError(f"{filename}: unterminated string")


def _doc_comment_start(source: str, form_start: int) -> int:
    """Start of the run of ``;;`` comment lines directly above a form (a blank line ends the run)."""
    line_start = source.rfind("\n", 0, form_start) + 1
    if source[line_start:form_start].strip():
        return form_start  # the form shares its line with other text: no doc comment of its own
    doc_start = line_start
    while line_start > 0:
        prev_start = source.rfind("\n", 0, line_start - 1) + 1
        if not source[prev_start:line_start].lstrip().startswith(";;"):
            break
        doc_start = line_start = prev_start
    return doc_start
