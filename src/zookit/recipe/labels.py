"""``labels``: a classifier's (or detector's) class names, so runs name the classes they see::

    labels:
      file: imagenet_labels.txt     # one of the sources: one name a line
      offset: 0                     # the line of class 0 (1: the file starts with a background line the
                                    # model's classes leave out, as TF OD API label maps do)

    labels:
      names: [airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck]

``class_names`` reads them (the file from the model's source folder); ``top_classes`` names the best
classes of one output. Nothing here imports numpy or a framework at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zookit.errors import UsageError

MAX_LABEL = 200
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]


class Labels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True)

    file: str | None = Field(None, description="A source file of one class name a line.")
    names: list[Label] = Field(default_factory=list, description="The class names in output order.")
    offset: int = Field(0, ge=0, description="The line (0-based) of class 0 in the file.")

    @model_validator(mode="after")
    def _one(self) -> Labels:
        if bool(self.file) == bool(self.names):
            raise ValueError("give either file or names")
        if self.names and self.offset:
            raise ValueError("offset: only for a labels file")
        return self


def labels_problems(recipe: Any) -> list[str]:
    """Checks of the labels section that need the whole recipe."""
    labels = recipe.labels
    if labels is None:
        return []
    problems = []
    files = {s.dest for s in recipe.sources}
    if labels.file and labels.file not in files:
        problems.append(
            f"labels.file: {labels.file!r} is not one of the source files ({', '.join(sorted(files))})"
        )
    if labels.names and recipe.num_classes is not None and len(labels.names) != recipe.num_classes:
        problems.append(f"labels.names: {len(labels.names)} names for num_classes {recipe.num_classes}")
    return problems


def class_names(recipe: Any, source_folder: Path | None) -> list[str] | None:
    """The class names in output order (None: the recipe has none). A labels file is read from the
    model's source folder; it must hold at least num_classes names after the offset."""
    labels = recipe.labels
    if labels is None:
        return None
    if labels.names:
        return list(labels.names)
    path = (source_folder or Path(".")) / labels.file
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{recipe.name}: labels.file: cannot read {path} ({exc}); run `zoo fetch {recipe.name}`"
        ) from None
    names = [line.strip()[:MAX_LABEL] for line in lines[labels.offset :]]
    wanted = recipe.num_classes or (recipe.detection.num_classes if recipe.detection else None)
    if wanted is not None and len(names) < wanted:
        raise UsageError(
            f"{recipe.name}: labels.file: {path} names {len(names)} classes after offset {labels.offset}; "
            f"the model has {wanted}"
        )
    return names


def top_classes(scores: Any, names: list[str] | None, k: int = 3) -> list[dict[str, Any]]:
    """The k best classes of one output: index, name (when known) and score, best first."""
    import numpy as np

    flat = np.asarray(scores, np.float64).ravel()
    best = np.argsort(-flat, kind="stable")[:k]
    return [
        {
            "class": int(i),
            **({"name": names[int(i)]} if names is not None and int(i) < len(names) else {}),
            "score": round(float(flat[int(i)]), 6),
        }
        for i in best
    ]
