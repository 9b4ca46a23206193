"""Inline the small v128 helpers of the kernel library into their callers, then hoist the v128
constants used inside loops into locals set once per call.

Why: V8 materializes a `v128.const` anew at every use (several instructions each), also inside
loops and inside the helpers it inlines by itself. SiLU (`$f32x4_swish` -> `$f32x4_sigmoid` ->
`$f32_vexp`, ~15 constants) runs 1.7x faster in Chromium once its constants are locals of the
loop's function. Cranelift loads constants from memory either way, so wasmtime is unaffected.
Both steps only move pure values and local variables: every kernel computes the same bits.

Only calls inside loops are inlined (elsewhere nothing could be hoisted: a dispatcher such as
`$f32x4_unary_op`, itself called once per vector, keeps calling its helpers). A helper is inlined
when it returns one v128, names its parameters and locals, and has no
labels, branches, loops or returns (so its body is a straight-line expression, and its locals,
set before they are read, need no zeroing per inlined use). Functions that change are printed
again from their parse (their inner comments are dropped; their doc comments stay).
"""

from __future__ import annotations

import re

Node = list  # an s-expression: atoms (str) and nested Nodes

_BRANCHING = {"return", "br", "br_if", "br_table", "loop", "return_call", "call_indirect"}
_LOCAL_OPS = {"local.get", "local.set", "local.tee"}


def optimize_kernels(texts: dict[str, str]) -> dict[str, str]:
    """name -> wat text (doc comments included) with helpers inlined and loop constants hoisted."""
    funcs = {name: _parse_func(text) for name, text in texts.items()}
    helpers = {name: f for name, f in funcs.items() if f is not None and _inlinable(f)}
    inlined: dict[str, Node] = {}

    def expanded(name: str) -> Node:
        """A helper as it is inlined: inside a loop, so its own helper calls are inlined too."""
        if name not in inlined:
            inlined[name] = _inline_calls(funcs[name], helpers, expanded, in_loop=True)
        return inlined[name]

    out = {}
    for name, text in texts.items():
        if funcs[name] is None:
            out[name] = text
            continue
        func = _hoist_loop_constants(_inline_calls(funcs[name], helpers, expanded, in_loop=False))
        if func == funcs[name]:
            out[name] = text
        else:
            out[name] = _doc(text) + _print(func) + "\n"
    return out


# --- parsing and printing -------------------------------------------------------------------

_TOKEN = re.compile(r'\(|\)|"(?:\\.|[^"\\])*"|[^\s()]+')


def strip_comments(text: str) -> str:
    text = re.sub(r"\(;.*?;\)", " ", text, flags=re.S)
    return re.sub(r";;[^\n]*", " ", text)


def _parse_func(text: str) -> Node | None:
    """The (func ...) form of a kernel text, or None when it is not one plain func form."""
    stack: list[Node] = [[]]
    for token in _TOKEN.findall(strip_comments(text)):
        if token == "(":
            stack.append([])
        elif token == ")":
            node = stack.pop()
            stack[-1].append(node)
        else:
            stack[-1].append(token)
    forms = stack[0]
    if len(stack) != 1 or len(forms) != 1 or not isinstance(forms[0], list) or forms[0][:1] != ["func"]:
        return None
    return forms[0]


def _doc(text: str) -> str:
    """The leading ;; comment lines of a kernel text."""
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith(";;"):
            break
        lines.append(line)
    return "".join(lines)


def _flat(node) -> str:
    return node if isinstance(node, str) else "(" + " ".join(_flat(c) for c in node) + ")"


def _print(node, indent: int = 0) -> str:
    """One form per line where it fits in 110 columns, children indented below otherwise."""
    flat = _flat(node)
    if isinstance(node, str) or len(flat) + indent <= 110:
        return " " * indent + flat
    i = 0
    while i < len(node) and isinstance(node[i], str):
        i += 1
    lines = [" " * indent + "(" + " ".join(node[:i])]
    lines += [_print(c, indent + 2) for c in node[i:]]
    return "\n".join(lines) + ")"


# --- the func form --------------------------------------------------------------------------

def _split(func: Node) -> tuple[list, list, list, list]:
    """(head [func, $name], params, result and local declarations, body)."""
    i = 2
    params, decls = [], []
    while i < len(func) and isinstance(func[i], list) and func[i][:1] in (["param"], ["result"], ["local"]):
        (params if func[i][0] == "param" else decls).append(func[i])
        i += 1
    return func[:2], params, decls, func[i:]


def _named(decl: Node) -> bool:
    return len(decl) == 3 and decl[1].startswith("$")


def _atoms(node):
    if isinstance(node, str):
        yield node
    else:
        for child in node:
            yield from _atoms(child)


def _inlinable(func: Node) -> bool:
    _, params, decls, body = _split(func)
    results = [d for d in decls if d[0] == "result"]
    locals_ = [d for d in decls if d[0] == "local"]
    if results != [["result", "v128"]] or not all(_named(d) for d in params + locals_):
        return False
    if any(a in _BRANCHING for a in _atoms(body)):
        return False
    return not any(isinstance(n, list) and n[:1] in (["block"], ["if"]) and len(n) > 1 and isinstance(n[1], str)
                   and n[1].startswith("$") for n in _walk(body))


def _walk(node):
    if isinstance(node, list):
        yield node
        for child in node:
            yield from _walk(child)


def _rename_locals(node, names: dict[str, str]):
    if isinstance(node, str):
        return node
    if len(node) >= 2 and node[0] in _LOCAL_OPS and node[1] in names:
        return [node[0], names[node[1]]] + [_rename_locals(c, names) for c in node[2:]]
    return [_rename_locals(c, names) for c in node]


def _inline_calls(func: Node, helpers: dict[str, Node], expanded, in_loop: bool) -> Node:
    head, params, decls, body = _split(func)
    new_locals: list[Node] = []
    sites = [0]

    def visit(node, in_loop: bool):
        if isinstance(node, str):
            return node
        inside = in_loop or node[:1] == ["loop"]
        node = [visit(c, inside) for c in node]
        if inside and len(node) >= 2 and node[0] == "call" and node[1][1:] in helpers:
            helper = expanded(node[1][1:])
            _, h_params, h_decls, h_body = _split(helper)
            args = node[2:]
            if len(args) != len(h_params):
                return node
            sites[0] += 1
            prefix = f"$i{sites[0]}."
            h_locals = [d for d in h_decls if d[0] == "local"]
            names = {d[1]: prefix + d[1][1:] for d in h_params + h_locals}
            new_locals.extend(["local", names[d[1]], d[2]] for d in h_params + h_locals)
            sets = [["local.set", names[p[1]], a] for p, a in zip(h_params, args)]
            return ["block", ["result", "v128"], *sets, *(_rename_locals(s, names) for s in h_body)]
        return node

    new_body = [visit(s, in_loop) for s in body]
    return head + params + decls + new_locals + new_body


def _hoist_loop_constants(func: Node) -> Node:
    """Each outermost loop reads its v128 constants from locals set just before it (a function
    with one loop per op, such as f32_vchain_step, sets only the running op's constants)."""
    head, params, decls, body = _split(func)
    names: dict[str, str] = {}  # constant's text -> its local, shared by every loop using it

    def constants(node, found: dict[str, Node]):
        if isinstance(node, str):
            return node
        if node[:1] == ["v128.const"]:
            key = _flat(node)
            names.setdefault(key, f"$k{len(names)}")
            found.setdefault(key, node)
            return ["local.get", names[key]]
        return [constants(c, found) for c in node]

    def place(items: list) -> list:
        """items: a sequence of instructions; loops in it get their constants' sets in front."""
        out = []
        for item in items:
            if isinstance(item, list) and item[:1] == ["loop"]:
                found: dict[str, Node] = {}
                loop = constants(item, found)
                out += [["local.set", names[key], node] for key, node in found.items()]
                out.append(loop)
            else:
                out.append(descend(item))
        return out

    def descend(node):
        """Blocks and if-branches hold instruction sequences (also inside an operand); other forms
        are searched for them."""
        if isinstance(node, str):
            return node
        if node[:1] and node[0] in ("block", "then", "else"):
            i = 1
            while i < len(node) and (isinstance(node[i], str) or node[i][:1] in (["result"], ["param"])):
                i += 1
            return node[:i] + place(node[i:])
        return [descend(c) for c in node]

    new_body = place(body)
    if not names:
        return func
    locals_ = [["local", name, "v128"] for name in names.values()]
    return head + params + decls + locals_ + new_body
