"""Reading a policy file: bounded in size and alias expansion, with file:line marks.

The YAML is parsed to nodes first so that every path gets its line, duplicate keys are
caught, and an alias bomb is refused before anything expands it; the document then goes to
`policy_from_dict` (validate.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from streams.domain.policy.model import Policy, content_hash
from streams.domain.policy.problems import PolicyError, Problem
from streams.domain.policy.validate import policy_from_dict

# The shipped policy is ~8 KB; 256 KB parses in well under a second even with the pure-Python
# YAML reader on a busy machine, and nothing larger is a policy anyone wrote by hand.
MAX_POLICY_BYTES = 256 * 1024
# YAML nodes after alias expansion: the shipped policy has ~600; validators walk the
# expanded document, so this bounds their work too.
MAX_NODES = 100_000

# libyaml when present: the same nodes and marks, several times faster.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_POLICY_BYTES + 1)  # never more: a 10 GB file costs nothing
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError([Problem("", str(p), f"the file is larger than "
                                       f"{MAX_POLICY_BYTES // 1024} KB; a policy is a few KB")],
                              str(p))
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem("", str(p), f"cannot read policy file: {exc}")],
                          str(p)) from None
    return parse_policy(text, str(p))


def parse_policy(text: str, source_name: str = "<policy>") -> Policy:
    """Parse YAML text into a validated Policy, or raise PolicyError (and nothing else)."""
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError([Problem("", source_name, f"the policy is larger than "
                                   f"{MAX_POLICY_BYTES // 1024} KB; a policy is a few KB")],
                          source_name)
    marks: dict[tuple[Any, ...], int] = {}
    dup: list[Problem] = []
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise PolicyError([Problem("", f"{source_name}:1", "the policy file is empty")],
                                  source_name)
            size = _expanded_size(node, MAX_NODES)
            if size > MAX_NODES:
                raise PolicyError([Problem("", source_name, f"YAML aliases expand the policy "
                                           f"beyond {MAX_NODES:,} nodes (an alias bomb?)")],
                                  source_name)
            _collect_marks(node, (), marks, dup, source_name)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except PolicyError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{source_name}:{mark.line + 1}" if mark is not None else source_name
        raise PolicyError([Problem("", loc, f"not valid YAML: {exc}")], source_name) from None
    except RecursionError:
        raise PolicyError([Problem("", source_name, "YAML nested too deeply")],
                          source_name) from None
    try:
        return policy_from_dict(data, source_name, marks, dup, digest=content_hash(text))
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError([Problem("", source_name, "policy nested too deeply")],
                          source_name) from None


_CYCLE = MAX_NODES * 1_000  # the size of a node that contains itself: always too big


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes in the document once every alias is expanded, counting each distinct node once
    (memoised by identity): an alias bomb of 9 levels x 9 aliases costs ~90 steps, not 9^9.
    A recursive alias counts as infinitely large. Iterative: no recursion limit to hit."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = _children(node)
        if done:
            total = 1 + sum(sizes.get(id(k), _CYCLE) for k in kids)
            sizes[key] = min(total, _CYCLE)
            continue
        if key in sizes:
            continue
        sizes[key] = _CYCLE  # "in progress": a child that reaches it again is a cycle
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _collect_marks(node: yaml.Node, path: tuple[Any, ...], marks: dict[tuple[Any, ...], int],
                   dup: list[Problem], source: str) -> None:
    marks.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for knode, vnode in node.value:
            key = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if key is None:
                continue
            if key in seen:
                dup.append(Problem(_fmt_path((*path, key)),
                                   f"{source}:{knode.start_mark.line + 1}",
                                   "duplicate key (the later one would silently win)"))
            seen.add(key)
            _collect_marks(vnode, (*path, key), marks, dup, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_marks(item, (*path, i), marks, dup, source)


def _fmt_path(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out
