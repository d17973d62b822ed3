"""What a model needs of a microcontroller under TensorFlow Lite Micro: the arena TFLM allocates it in
(measured), the tensor arena to declare (that plus the recipe's margin, rounded), the flash its data
takes, and its ops (each one TFLM's op resolver must register). The ``tflm`` deployer records these
figures and ``zoo diagnose`` weighs its candidates by them: both call ``measure``."""

from __future__ import annotations

import math
from typing import Any

from zookit.recipe import Recipe, Target
from zookit.runtimes import tflm
from zookit.runtimes.tflm_ops import resolver_methods

ARENA_METHOD = "bisection over arena_size with TFLM's AllocateTensors (the smallest arena that allocates)"
ARENA_ROUNDING = 16


def tensor_arena_size(measured: int, margin: float) -> int:
    """The measured arena plus ``margin`` (a share), rounded up to ARENA_ROUNDING bytes."""
    size = math.ceil(measured * (1 + margin))
    return -(-size // ARENA_ROUNDING) * ARENA_ROUNDING


def measure(recipe: Recipe, target: Target, model: bytes) -> dict[str, Any]:
    """Footprint: the arena TFLM needs (measured), the flash the model data takes, the ops."""
    ops = tflm.op_counts(model)
    resolver_methods(ops)  # an op TFLM's resolver lacks fails here, by name
    measured = tflm.minimum_arena(model)
    margin = recipe.mcu.arena_margin if recipe.mcu else 0.1
    flash = -(-len(model) // tflm.FLASH_ALIGNMENT) * tflm.FLASH_ALIGNMENT
    return {
        "arena": {
            "measured": measured,
            "method": ARENA_METHOD,
            "margin": margin,
            "size": tensor_arena_size(measured, margin),
        },
        "flash_bytes": flash,
        "flash_note": f"the model data ({len(model)} bytes) padded to {tflm.FLASH_ALIGNMENT}-byte alignment; "
        "TFLM's code is not counted",
        "ops": ops,
        "op_count": len(ops),
        "operators": sum(ops.values()),
    }
