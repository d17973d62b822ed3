"""Recipe validation: every rule has a failing example, and only RecipeError ever comes out."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, minimal_recipe, write_recipe
from zookit.errors import RecipeError, UsageError
from zookit.recipe import RecipeBook, json_schema, load_recipe, parse_recipe

RECIPES = sorted((REPO / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_shipped_recipe_validates(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert recipe.sources and recipe.targets


def test_the_four_mlperf_models_are_there() -> None:
    # and Google's genuine quantized SSD-MobileNet v1 and MobileNet v1 (issue 29)
    assert RecipeBook(REPO / "recipes").names() == [
        "mobilenet_v1",
        "mobilenet_v1_quant",
        "resnet34_ssd1200",
        "resnet50_v1",
        "ssd_mobilenet_v1",
        "ssd_mobilenet_v1_quant",
    ]


def test_shipped_recipes_carry_the_reference_facts() -> None:
    book = RecipeBook(REPO / "recipes")
    resnet = book.get("resnet50_v1")
    assert resnet.trim.outputs == ["resnet_model/dense/BiasAdd"]
    assert resnet.sources[0].checksum == "md5:7b94a2da05dd30f6c0af23a46bc08886"
    ssd = book.get("ssd_mobilenet_v1")
    assert ssd.detection is not None and ssd.detection.anchors is not None
    assert ssd.detection.anchors.feature_map_sizes == [19, 10, 5, 3, 2, 1]
    assert ssd.sources[0].size == 76541073
    r34 = book.get("resnet34_ssd1200")
    assert r34.detection is not None and len(r34.detection.priors) == 6
    assert r34.tidl is not None and r34.tidl.meta_arch_type == 3


def problems(doc: Any) -> list[str]:
    with pytest.raises(RecipeError) as info:
        parse_recipe(doc, "recipes/toy.yaml")
    return info.value.problems


def with_source(**fields: Any) -> dict[str, Any]:
    doc = minimal_recipe()
    doc["sources"][0].update(fields)
    return doc


def test_minimal_recipe_is_valid() -> None:
    assert parse_recipe(minimal_recipe(), "x").name == "toy"


# One failing example per rule: (document, a fragment the error must contain).
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "bad sha256 length",
        with_source(checksum="sha256:abc"),
        "sources[0].checksum: expected 64 hex characters",
    ),
    ("unknown algorithm", with_source(checksum="crc32:00000000"), "unknown checksum algorithm 'crc32'"),
    ("checksum without prefix", with_source(checksum="ab" * 32), "expected 'algorithm:hex'"),
    ("non-hex digest", with_source(checksum="md5:" + "z" * 32), "expected 32 hex characters"),
    ("no urls", with_source(urls=[]), "sources[0].urls: List should have at least 1 item"),
    ("ftp url", with_source(urls=["ftp://x/y"]), "is not an http(s) URL"),
    ("file with folder", with_source(file="a/b.pb"), "must be a plain file name"),
    ("negative size", with_source(size=-3), "sources[0].size: Input should be greater than 0"),
    (
        "members of a plain file",
        with_source(members=[{"path": "a"}]),
        "is not unpacked, so it has no members",
    ),
    ("member escaping", with_source(file="a.tgz", members=[{"path": "../x"}]), "stays inside"),
    (
        "git-blob without size",
        with_source(checksum="git-blob:" + "a" * 40),
        "git-blob checksum needs the file size",
    ),
    (
        "missing checksum key",
        {**minimal_recipe(), "sources": [{"file": "a.pb", "urls": ["http://h/a"], "size": 1}]},
        "sources[0].checksum: required field is missing",
    ),
    (
        "bad task",
        minimal_recipe(task="segment"),
        "task: Input should be 'classification', 'detection' or 'anomaly-detection'",
    ),
    ("bad name", minimal_recipe(name="Toy Model"), "is not a valid name"),
    ("bad format", minimal_recipe(model={"format": "caffe", "path": "x"}), "model.format"),
    ("absolute model path", minimal_recipe(model={"format": "onnx", "path": "/etc/passwd"}), "model.path"),
    (
        "zero dim",
        minimal_recipe(inputs=[{"name": "i", "shape": [1, 0]}]),
        "inputs[0]: shape: dimensions must be positive",
    ),
    (
        "layout rank",
        minimal_recipe(inputs=[{"name": "i", "shape": [1, 2], "layout": "NHWC"}]),
        "layout: NHWC has 4 axes",
    ),
    (
        "bad dtype",
        minimal_recipe(outputs=[{"name": "o", "shape": [1], "dtype": "float99"}]),
        "outputs[0].dtype",
    ),
    (
        "empty range",
        minimal_recipe(inputs=[{"name": "i", "shape": [1], "value_range": [1, 1]}]),
        "value_range",
    ),
    (
        "crop above resize",
        minimal_recipe(preprocessing={"mean": [0], "scale": [1], "resize": 200, "crop": 224}),
        "crop: 224 is larger than resize 200",
    ),
    ("zero scale", minimal_recipe(preprocessing={"mean": [0], "scale": [0]}), "preprocessing.scale[0]"),
    ("four means", minimal_recipe(preprocessing={"mean": [0, 0, 0, 0], "scale": [1]}), "preprocessing.mean"),
    ("custom ops not allowed", minimal_recipe(custom_ops={"ops": ["X"]}), "allow: must be true"),
    (
        "onnx quantized",
        minimal_recipe(targets=[{"name": "o", "format": "onnx", "quantization": "int8"}]),
        "ONNX targets are float32",
    ),
    (
        "opset on tflite",
        minimal_recipe(targets=[{"name": "t", "format": "tflite", "opset": 13}]),
        "only for onnx",
    ),
    (
        "io dtype on float",
        minimal_recipe(targets=[{"name": "t", "format": "tflite", "io_dtype": "uint8"}]),
        "needs quantization int8",
    ),
    (
        "duplicate targets",
        minimal_recipe(targets=[{"name": "t", "format": "tflite"}] * 2),
        "targets[1].name: duplicate",
    ),
    ("no targets", minimal_recipe(targets=[]), "targets: List should have at least 1 item"),
    (
        "tidl target unknown",
        minimal_recipe(tidl={"target": "nope"}),
        "tidl.target: 'nope' is not one of the targets",
    ),
    ("tidl bits", minimal_recipe(tidl={"target": "tflite-float32", "tensor_bits": 4}), "tidl.tensor_bits"),
    ("detector without detection", minimal_recipe(task="detection"), "detection: required"),
    (
        "detection without anchors",
        minimal_recipe(task="detection", detection={"num_classes": 3}),
        "anchors/priors",
    ),
    (
        "anchor layers",
        minimal_recipe(
            task="detection",
            detection={
                "num_classes": 3,
                "anchors": {
                    "num_layers": 2,
                    "min_scale": 0.2,
                    "max_scale": 0.9,
                    "aspect_ratios": [1.0],
                    "feature_map_sizes": [3],
                },
            },
        ),
        "feature_map_sizes: 1 sizes for num_layers 2",
    ),
    (
        "three variances",
        minimal_recipe(
            task="detection",
            detection={
                "num_classes": 3,
                "priors": [{"min_size": [10], "step": 8, "variance": [0.1, 0.1, 0.2]}],
            },
        ),
        "variance: TIDL needs exactly 4 values",
    ),
    ("typo in field", {**minimal_recipe(), "ouputs": []}, "unknown field 'ouputs' (did you mean 'outputs'?)"),
    (
        "nested typo",
        with_source(checksumm="md5:" + "0" * 32),
        "sources[0]: unknown field 'checksumm' (did you mean 'checksum'?)",
    ),
    (
        "missing name",
        {k: v for k, v in minimal_recipe().items() if k != "name"},
        "name: required field is missing",
    ),
    ("not a mapping", [1, 2], "expected a mapping of recipe fields"),  # type: ignore[list-item]
    ("empty document", None, "got empty"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("doc", "fragment"), [(d, f) for _, d, f in CASES], ids=[c[0] for c in CASES])
def test_each_rule_has_a_failing_example(doc: Any, fragment: str) -> None:
    found = problems(doc)
    assert any(fragment in p for p in found), found


def test_every_problem_is_reported_not_just_the_first() -> None:
    doc = copy.deepcopy(minimal_recipe(task="nope", license=""))
    doc["sources"][0]["checksum"] = "sha256:00"
    del doc["model"]
    found = problems(doc)
    assert len(found) >= 4, found
    assert {p.split(":")[0] for p in found} >= {"task", "license", "sources[0].checksum", "model"}


def test_error_names_file_and_field(tmp_path: Path) -> None:
    doc = with_source(checksum="sha256:1234")
    path = write_recipe(tmp_path / "recipes", doc)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}: sources[0].checksum: expected 64 hex characters")


def test_file_name_must_match_recipe_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(minimal_recipe()))
    with pytest.raises(RecipeError, match="name: 'toy' differs from the file name 'other'"):
        load_recipe(path)


def test_broken_yaml_and_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "toy.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="cannot read the file"):
        load_recipe(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(RecipeError, match="cannot read the file"):
        load_recipe(binary)


def test_recipes_are_immutable() -> None:
    recipe = parse_recipe(minimal_recipe(), "x")
    with pytest.raises(Exception, match="frozen"):
        recipe.name = "other"  # type: ignore[misc]


def test_digest_changes_with_content() -> None:
    a = parse_recipe(minimal_recipe(), "x")
    b = parse_recipe(minimal_recipe(description="changed"), "x")
    assert a.digest != b.digest and a.digest == parse_recipe(minimal_recipe(), "x").digest


def test_book_keeps_broken_recipes_apart_and_suggests_names(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    write_recipe(folder, minimal_recipe("good"))
    write_recipe(folder, minimal_recipe("bad", task="x"))
    book = RecipeBook(folder)
    assert list(book.recipes) == ["good"] and list(book.errors) == ["bad"]
    with pytest.raises(RecipeError):
        book.get("bad")
    with pytest.raises(UsageError, match="did you mean 'good'"):
        book.get("goood")
    with pytest.raises(UsageError, match="does not exist"):
        RecipeBook(tmp_path / "nowhere").names()


def test_schema_is_json_schema_of_the_recipe() -> None:
    schema = json_schema()
    assert schema["type"] == "object"
    assert {"name", "sources", "targets", "inputs"} <= set(schema["required"])
    json.dumps(schema)


# Random YAML documents: whatever comes in, only RecipeError may come out.
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
keys = st.one_of(
    st.sampled_from(
        [
            "name",
            "sources",
            "urls",
            "checksum",
            "size",
            "targets",
            "format",
            "shape",
            "inputs",
            "outputs",
            "model",
            "detection",
            "priors",
            "tidl",
            "file",
        ]
    ),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents)
def test_random_documents_only_raise_recipe_error(doc: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "toy.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_recipe(path)
    except RecipeError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(mutation=st.dictionaries(st.sampled_from(list(minimal_recipe())), scalars, min_size=1, max_size=3))
def test_mutated_valid_recipes_only_raise_recipe_error(mutation: dict[str, Any]) -> None:
    doc = {**minimal_recipe(), **mutation}
    try:
        parse_recipe(doc, "toy.yaml")
    except RecipeError as exc:
        assert exc.problems


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_only_raises_recipe_error(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "toy.yaml"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(RecipeError):
        load_recipe(path)


def _outcome(book: RecipeBook, name: str) -> tuple[str, str]:
    try:
        recipe = book.get(name)
    except (RecipeError, UsageError) as exc:
        return type(exc).__name__, str(exc)
    return "recipe", recipe.model_dump_json()


def test_a_recipe_got_by_name_reads_its_own_files_only_and_is_what_the_whole_folder_gives(
    tmp_path: Path,
) -> None:
    """`zoo show x` in a big zoo reads x's file(s) alone: every name gives the same recipe or the same
    error as when the whole folder is loaded (x.yaml and x.yml both valid: the .yml one; one broken:
    its error; a misnamed file; an unknown name), and the folder is never loaded whole."""
    folder = tmp_path / "recipes"
    write_recipe(folder, minimal_recipe("good"))
    write_recipe(folder, minimal_recipe("bad", task="x"))
    write_recipe(folder, minimal_recipe("twice", description="the .yaml one"))
    (folder / "twice.yml").write_text(yaml.safe_dump(minimal_recipe("twice", description="the .yml one")))
    write_recipe(folder, minimal_recipe("half"))
    (folder / "half.yml").write_text("name: half\ntask: [classification\n")
    (folder / "misnamed.yaml").write_text(yaml.safe_dump(minimal_recipe("other")))
    names = ["good", "bad", "twice", "half", "misnamed", "goood", "none.yaml", ""]
    whole = RecipeBook(folder)
    assert whole.recipes  # the folder loaded
    expected = {n: _outcome(whole, n) for n in names}
    assert expected["twice"][0] == "recipe" and "the .yml one" in expected["twice"][1]
    assert expected["half"][0] == "RecipeError" and "half.yml" in expected["half"][1]
    assert expected["goood"][0] == "UsageError" and "did you mean 'good'" in expected["goood"][1]
    for name in names:
        alone = RecipeBook(folder)
        assert alone.names() == whole.names()
        assert _outcome(alone, name) == expected[name], name
        assert "_loaded" not in alone.__dict__  # the folder never loaded whole
    book = RecipeBook(folder)
    assert book.get("good") is book.get("good")  # read once


def test_an_unknown_name_in_a_big_zoo_lists_some_known_names_and_their_count(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    text = yaml.safe_dump(minimal_recipe("toy_0000"), sort_keys=False)
    for i in range(300):
        (folder / f"toy_{i:04d}.yaml").write_text(text.replace("toy_0000", f"toy_{i:04d}"))
    with pytest.raises(UsageError) as caught:
        RecipeBook(folder).get("toy_10000")
    message = str(caught.value)
    assert "toy_0019, ... (300 in all: zoo list shows them)" in message
    assert "toy_0020" not in message.split("known:")[1] and len(message) < 800
