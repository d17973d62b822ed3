"""The recipe: a typed, immutable description of one model, loaded from YAML and validated.

Validation reports every problem it finds, each with the file and the field path
(``recipes/resnet50_v1.yaml: sources[0].checksum: expected 64 hex characters after 'sha256:'``),
and suggests the intended key for an unknown one. Nothing here imports a deep-learning framework.

What belongs here: what a recipe may say and how it is read, nothing that acts on it. From the bottom up:
``names`` (the validators of names, paths, URLs and checksums, and ``FrozenModel``, the base of every part),
the parts of a recipe (``sources``, ``tensors``, ``quant``, ``targets``, ``detection``) and the deployers'
and evaluation's sections (``tidl``, ``mcu``, ``openvino``, ``evaluation``, ``labels``, ``pictures``), each
with the checks that need the whole recipe; ``model`` (``Recipe``, made of them); ``fastyaml`` (PyYAML's
safe load, exact and sooner) and ``files`` (YAML read, bounded, and the parsed-document cache); ``loading``
(a file or document validated, its errors one line each); ``judging`` (a file's verdict, many files in
worker processes); ``cache`` (the validated-recipe cache); ``book`` (the recipe folders, the shipped zoos,
``RecipeBook``). The modules below import nothing of
this face; the rest of zookit imports the names it re-exports, or a module of the package directly.
"""

from zookit.recipe.book import (
    RECIPE_SUFFIXES,
    SHIPPED_ZOOS,
    RecipeBook,
    default_recipes_dir,
    recipe_files,
    recipes_dir,
)
from zookit.recipe.detection import Detection, Heads, PriorBox, SsdAnchors
from zookit.recipe.loading import load_recipe, parse_recipe
from zookit.recipe.model import DEPLOY, Recipe, json_schema
from zookit.recipe.sources import Member, ModelFile, Source
from zookit.recipe.targets import Target, Tolerance
from zookit.recipe.tensors import Preprocessing, TensorSpec

__all__ = [
    "DEPLOY",
    "RECIPE_SUFFIXES",
    "SHIPPED_ZOOS",
    "Detection",
    "Heads",
    "Member",
    "ModelFile",
    "Preprocessing",
    "PriorBox",
    "Recipe",
    "RecipeBook",
    "Source",
    "SsdAnchors",
    "Target",
    "TensorSpec",
    "Tolerance",
    "default_recipes_dir",
    "json_schema",
    "load_recipe",
    "parse_recipe",
    "recipe_files",
    "recipes_dir",
]
