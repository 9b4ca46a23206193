"""Subgraphs (If branches, Loop and Scan bodies) brought into the one flat IR graph.

A subgraph is imported by renaming every name it defines (its inputs, initializers, node outputs,
nested subgraphs' too) under a prefix, binding its formal inputs to the outer tensors that feed
them, and importing its nodes like any others. Names it reads from the enclosing scopes stay as
they are. A Loop or Scan body is imported once per iteration, each time under its own prefix.
"""

from __future__ import annotations

import copy

import onnx

MAX_UNROLLED_ITERATIONS = 4096


def subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    """The graphs in a node's attributes (If branches, Loop/Scan bodies), in attribute order."""
    found = []
    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            found.append(attribute.g)
        elif attribute.type == onnx.AttributeProto.GRAPHS:
            found.extend(attribute.graphs)
    return found


def all_nodes(nodes):
    """Every node, and every node of every nested subgraph (depth first)."""
    for node in nodes:
        yield node
        for graph in subgraphs(node):
            yield from all_nodes(graph.node)


def defined_names(graph: onnx.GraphProto) -> set[str]:
    """Every value name the graph and its nested subgraphs define."""
    names = {vi.name for vi in graph.input} | {init.name for init in graph.initializer}
    names |= {init.values.name for init in graph.sparse_initializer}
    for node in graph.node:
        names.update(o for o in node.output if o)
        for nested in subgraphs(node):
            names |= defined_names(nested)
    return names


def renamed(graph: onnx.GraphProto, mapping: dict[str, str], node_prefix: str) -> onnx.GraphProto:
    """A copy of `graph` with every value name in `mapping` replaced (nested subgraphs too) and
    node names prefixed, so repeated or nested imports never collide."""
    graph = copy.deepcopy(graph)
    _rename(graph, mapping, node_prefix)
    return graph


def _rename(graph: onnx.GraphProto, mapping: dict[str, str], node_prefix: str) -> None:
    def sub(name: str) -> str:
        return mapping.get(name, name) if name else name

    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = sub(value.name)
    for init in graph.initializer:
        init.name = sub(init.name)
    for node in graph.node:
        node.input[:] = [sub(n) for n in node.input]
        node.output[:] = [sub(n) for n in node.output]
        node.name = f"{node_prefix}{node.name or node.op_type}"
        for nested in subgraphs(node):
            _rename(nested, mapping, node_prefix)
