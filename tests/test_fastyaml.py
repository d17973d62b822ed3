"""zookit.recipe.fastyaml: the faster YAML load gives exactly ``yaml.load(text, Loader=SAFE_LOADER)``'s
result (equal, the same types, the same sharing of aliased objects) or raises the same error, on every
shipped recipe and on documents chosen to be tricky; it counts a document's values as files.py's walk
does; and it takes the short way on recipes (not always the fallback)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import minimal_recipe
from zookit.recipe.fastyaml import SAFE_LOADER, load_yaml
from zookit.recipe.files import MAX_VALUES, _expands_past

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "src" / "zookit" / "recipes").glob("**/*.y*ml"))


def laughs(levels: int) -> str:
    """A "billion laughs": each level a list of nine aliases of the one before."""
    return "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefghi", "bcdefghij"[: levels - 1], strict=False)
    )


LAUGHS = laughs(4)  # 7,000 values: walked in the comparison

# (id, document, whether the short way builds it: False = yaml.load's own path)
TRICKY: list[tuple[str, str, bool]] = [
    ("booleans", "a: yes\nb: no\nc: on\nd: off\ne: Yes\nf: NO\ng: y\nh: n\ni: True\nj: FALSE\n", True),
    (
        "integers",
        "hex: 0x1F\nneg: -0x1F\noct: 017\nbin: 0b101\nu: 1_000\nsexa: 1:20\nplus: +12\nz: 0\n",
        True,
    ),
    (
        "floats",
        "a: .inf\nb: -.inf\nc: .nan\nd: .NaN\ne: 1e3\nf: 1.0e+3\ng: 685.230_15e+03\nh: -0.0\n"
        "i: 0.\nj: .5\nk: 190:20:30.15\n",
        True,
    ),
    ("nulls", "a: ~\nb: null\nc: Null\nd: ''\ne:\nf: NULL\n", True),
    ("quoted numbers", "a: '1'\nb: \"0x1F\"\nc: '~'\nd: 'yes'\ne: \"1:20\"\nf: '.nan'\n", True),
    ("aliases", "base: &b {x: 1, y: [1, 2]}\ncopy: *b\nlist: [*b, *b]\ns: &s 5\nt: *s\n", True),
    ("merge key", "base: &b {x: 1, y: 2}\nd: {<<: *b, y: 3}\n", False),
    ("merge list", "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n", False),
    ("duplicate keys", "a: 1\na: 2\nb: {c: 1, c: [1, 2]}\n", True),
    ("colliding keys", "1: a\ntrue: b\n1.0: c\n~: d\n2.5: e\n", True),
    ("nan keys", "{.nan: 1, .NaN: 2, -.nan: 3}", True),
    ("nested flow", "{a: [1, {b: [2, 3]}, [4, [5]]], c: {d: {e: f}}, g: []}", True),
    (
        "multi-line strings",
        "a: |\n  line1\n  line2\nb: >\n  folded\n  text\nc: plain\n  continued\n"
        'd: |-\n  kept\ne: "esc\\tape\\n"\n',
        True,
    ),
    ("unicode", 'name: café\nemoji: "\\U0001F600"\nkey ü: wert\n日本: 語\n', True),
    ("crlf", "a: 1\r\nb: [x, y]\r\n", True),
    (
        "explicit core tags",
        "a: !!str 123\nb: !!int '42'\nc: !!float 1\nd: !!bool yes\ne: !!null ''\n"
        "f: !!map {a: 1}\ng: !!seq [1]\nh: ! 12\n",
        True,
    ),
    ("top-level scalar", "42", True),
    ("top-level list", "- a\n- 1\n- [b]\n", True),
    ("empty", "", True),
    ("comment only", "# nothing\n", True),
    ("explicit empty document", "---\n...\n", True),
    ("billion laughs", LAUGHS, True),
    ("deep nesting", "[" * 300 + "]" * 300, True),
    ("deeper nesting", "a: " + "[" * 3000 + "]" * 3000, False),
    ("timestamps", "d: 2024-01-02\nt: 2001-12-14t21:59:43.10-05:00\n", False),
    ("binary", "b: !!binary aGVsbG8=\n", False),
    ("set", "s: !!set {a, b}\n", False),
    ("omap", "o: !!omap [a: 1, b: 2]\n", False),
    ("pairs", "p: !!pairs [a: 1, a: 2]\n", False),
    ("value key", "=: 1\n", False),
    ("value value", "a: =\n", False),
    ("custom tag", "a: !custom x\n", False),
    ("python tag", "a: !!python/object:os.system x\n", False),
    ("str tag on a list", "a: !!str [1]\n", False),
    ("map tag on a scalar", "a: !!map x\n", False),
    ("int tag on a list", "a: !!int [1]\n", False),
    ("bad float", "a: !!float abc\n", False),
    ("bad int", "a: !!int 0xZZ\n", False),
    ("bad bool", "a: !!bool maybe\n", False),
    ("bad timestamp", "a: !!timestamp 2024-13-45\n", False),
    ("long integer", "a: " + "1" * 4400 + "\n", False),
    ("list key", "? [1, 2]\n: x\n", False),
    ("mapping key", "? {a: 1}\n: x\n", False),
    ("recursive list", "&a [*a]", False),
    ("recursive mapping", "&a {x: *a}", False),
    ("undefined alias", "a: *nope\n", False),
    ("two documents", "a: 1\n---\nb: 2\n", False),
    ("unclosed", "name: bad\ninputs: [unclosed\n", False),
    ("mapping in a scalar", "a: b: c\n", False),
    ("tab indent", "a:\n\t- x\n", False),
]


def outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", load(text)
    except Exception as exc:  # the error itself is what is compared
        return "error", (type(exc), str(exc))


def same(a: Any, b: Any, pairs: dict[int, int] | None = None) -> bool:
    """Equal, of the same types all the way down, and sharing objects where the other shares them."""
    pairs = {} if pairs is None else pairs
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        if id(a) in pairs:
            return pairs[id(a)] == id(b)
        pairs[id(a)] = id(b)
        if isinstance(a, dict):
            return len(a) == len(b) and all(
                same(k, m, pairs) and same(a[k], b[m], pairs) for k, m in zip(a, b, strict=True)
            )
        return len(a) == len(b) and all(same(x, y, pairs) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b)


def walked(document: Any) -> int:
    """The values files.py's walk meets (aliases expanded), found from its own yes/no answers."""
    low, high = 0, MAX_VALUES + 1
    while low < high:  # the smallest limit the document does not expand past
        mid = (low + high) // 2
        if _expands_past(document, mid):
            low = mid + 1
        else:
            high = mid
    return low


def check(text: str) -> tuple[str, Any, int | None, bool]:
    """(outcome, document, count, whether yaml.load's own path was taken)."""
    expected = outcome(lambda t: yaml.load(t, Loader=SAFE_LOADER), text)
    fallbacks = []
    real_load = yaml.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        fallbacks.append(args)
        return real_load(*args, **kwargs)

    yaml.load = spy
    try:
        got = outcome(load_yaml, text)
    finally:
        yaml.load = real_load
    assert got[0] == expected[0], (got, expected)
    if got[0] == "error":
        assert got[1] == expected[1]
        return "error", None, None, bool(fallbacks)
    document, size = got[1]
    assert same(document, expected[1]), (document, expected[1])
    if size is not None:
        assert size == walked(document)
    return "ok", document, size, bool(fallbacks)


@pytest.mark.parametrize("text,short", [(t, s) for _, t, s in TRICKY], ids=[i for i, _, _ in TRICKY])
def test_tricky_documents_load_as_yaml_load_loads_them(text: str, short: bool) -> None:
    _, _, size, fell_back = check(text)
    assert fell_back is not short  # the short way built it, or yaml.load did
    if not short:
        assert size is None  # not counted: files.py walks it


def test_every_shipped_recipe_loads_the_short_way_as_yaml_load_loads_it() -> None:
    assert len(SHIPPED) >= 10
    for path in SHIPPED:
        kind, document, size, fell_back = check(path.read_text(encoding="utf-8"))
        assert kind == "ok" and isinstance(document, dict) and size is not None and not fell_back, path


def test_generated_recipes_load_as_yaml_load_loads_them() -> None:
    """The recipes the tests write (conftest.minimal_recipe, dumped as write_recipe and PyYAML do)."""
    doc = minimal_recipe("toy")
    for text in (yaml.safe_dump(doc), yaml.safe_dump(doc, sort_keys=False, default_flow_style=True)):
        kind, _, _, fell_back = check(text)
        assert kind == "ok" and not fell_back


def test_the_bound_on_values_holds_for_the_short_way() -> None:
    """A billion laughs past MAX_VALUES is counted past it without being walked."""
    _, size = load_yaml(laughs(9))
    assert size is not None and size > 9**9 > MAX_VALUES
