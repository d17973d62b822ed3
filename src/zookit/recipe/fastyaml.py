"""A faster exact YAML load for recipe files: ``yaml.load(text, Loader=SAFE_LOADER)``'s result, built in
a fraction of its time, or that very call when the document holds anything the short way does not build.

PyYAML spends most of a recipe's load in Python: resolving each plain scalar's implicit tag (up to four
regular expressions) and constructing objects through generators, a recursion guard and a dictionary of
constructed nodes. Here the nodes are composed by the same parser (libyaml's, when PyYAML has it), with
each scalar's implicit tag remembered by its text (the same text and style always resolve to the same
tag), and the objects are built by one short recursive function that knows the core tags only: mapping,
sequence, str, int, float, bool and null. A scalar's value is made by PyYAML's own constructor for its
tag, remembered by (tag, text), so a value is exactly what ``yaml.load`` makes of it.

Anything else — another tag (a merge key ``<<``, ``=``, a timestamp, binary, a set, an omap, a custom
tag), a tag on a node of the wrong kind, a collection key, a node met again while it is being built (a
recursive alias), nesting deeper than the recursion limit, any exception at all (a syntax error, an
integer past Python's digit limit) — and the document is loaded by ``yaml.load`` instead, so a result or
an error is byte for byte what it always was. tests/test_fastyaml.py compares both on every shipped recipe,
every recipe file of the tests and a set of tricky documents.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

# libyaml's safe loader (about 8 times faster than the pure-Python one), else PyYAML's own; both build the
# same plain data and refuse the same tags.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PREFIX = "tag:yaml.org,2002:"
MAP, SEQ, STR = _PREFIX + "map", _PREFIX + "seq", _PREFIX + "str"
# the scalar tags built here, with PyYAML's own constructor for each (str's is the text itself)
_STANDARD = {
    STR: SafeConstructor.construct_yaml_str,
    _PREFIX + "int": SafeConstructor.construct_yaml_int,
    _PREFIX + "float": SafeConstructor.construct_yaml_float,
    _PREFIX + "bool": SafeConstructor.construct_yaml_bool,
    _PREFIX + "null": SafeConstructor.construct_yaml_null,
}
_MEMO_LIMIT = 200_000  # remembered tags and values, each; emptied when full (a zoo's texts repeat)


class _Unsupported(Exception):
    """The document holds something only ``yaml.load`` builds."""


_TAGS: dict[tuple[str, tuple[bool, bool]], str] = {}


class _Composer(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """SAFE_LOADER, used to compose nodes only, with each plain scalar's implicit tag remembered."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _TAGS.get(key)
        if tag is None:
            if len(_TAGS) >= _MEMO_LIMIT:
                _TAGS.clear()
            tag = _TAGS[key] = super().resolve(kind, value, implicit)
        return tag


def _usable() -> bool:
    """Whether SAFE_LOADER still builds the core tags with PyYAML's own constructors and resolves tags
    without path resolvers (nothing in zookit changes either; a plug-in could)."""
    constructors = SAFE_LOADER.yaml_constructors
    return (
        not SAFE_LOADER.yaml_path_resolvers
        and constructors.get(MAP) is SafeConstructor.construct_yaml_map
        and constructors.get(SEQ) is SafeConstructor.construct_yaml_seq
        and all(constructors.get(tag) is make for tag, make in _STANDARD.items())
    )


_VALUES: dict[tuple[str, str], Any] = {}


class _Builder:
    """Builds one document's objects from its nodes and counts the values a walk of the result meets
    (aliases expanded): files.py's bound on a document's size, without walking it again."""

    __slots__ = ("building", "built", "count", "exact", "loader")

    def __init__(self, loader: Any):
        self.loader = loader
        self.built: dict[int, tuple[Any, int]] = {}  # id(collection node): (object, values below it)
        self.building: set[int] = set()
        self.count = 0
        self.exact = True  # False when a duplicate key dropped a value: the count is then not the walk's

    def scalar(self, node: Any) -> Any:
        """A scalar's value, made by PyYAML's constructor for its tag once per (tag, text)."""
        tag = node.tag
        if tag == STR:
            return node.value
        key = (tag, node.value)
        try:
            return _VALUES[key]
        except KeyError:
            pass
        make = _STANDARD.get(tag)
        if make is None:
            raise _Unsupported(tag)
        value = make(self.loader, node)
        if len(_VALUES) >= _MEMO_LIMIT:
            _VALUES.clear()
        _VALUES[key] = value
        return value

    def build(self, node: Any) -> Any:
        """The document's object; ``self.count`` the values a walk of it meets."""
        if type(node) is ScalarNode:
            self.count = 1
            return self.scalar(node)
        data, self.count = self.collection(node)
        return data

    def collection(self, node: Any) -> tuple[Any, int]:
        """A mapping's or a sequence's object and the values a walk of it meets (itself included). The
        scalars inside are made here, not by a call each (most values are scalars, most of them str)."""
        ident = id(node)
        seen = self.built.get(ident)
        if seen is not None:  # an alias of a node built before: the same object, as yaml.load gives
            return seen
        if ident in self.building:  # an alias inside its own anchor: yaml.load's recursive structures
            raise _Unsupported("recursive alias")
        self.building.add(ident)
        kind, scalar = type(node), self.scalar
        data: Any
        if kind is MappingNode and node.tag == MAP:
            data, pairs = {}, node.value
            count = 1 + len(pairs)  # itself and its keys
            for key_node, value_node in pairs:
                if type(key_node) is not ScalarNode:
                    raise _Unsupported("a collection as a key")
                key = key_node.value if key_node.tag == STR else scalar(key_node)
                if type(value_node) is ScalarNode:
                    data[key] = value_node.value if value_node.tag == STR else scalar(value_node)
                    count += 1
                else:
                    value, size = self.collection(value_node)
                    data[key] = value
                    count += size
            if len(data) != len(pairs):
                self.exact = False
        elif kind is SequenceNode and node.tag == SEQ:
            data, count = [], 1
            for item in node.value:
                if type(item) is ScalarNode:
                    data.append(item.value if item.tag == STR else scalar(item))
                    count += 1
                else:
                    value, size = self.collection(item)
                    data.append(value)
                    count += size
        else:
            raise _Unsupported(node.tag)
        self.building.discard(ident)
        self.built[ident] = (data, count)
        return data, count


def load_yaml(text: str) -> tuple[Any, int | None]:
    """``yaml.load(text, Loader=SAFE_LOADER)`` (its result, or its exception), and the number of values a
    walk of the result meets, aliases expanded (None when not counted: walk it)."""
    if _usable():
        try:
            loader = _Composer(text)
            try:
                node = loader.get_single_node()
                if node is None:
                    return None, 1
                builder = _Builder(loader)
                data = builder.build(node)
                return data, builder.count if builder.exact else None
            finally:
                loader.dispose()
        except Exception:  # anything the short way cannot do exactly: yaml.load does it
            pass
    return yaml.load(text, Loader=SAFE_LOADER), None
