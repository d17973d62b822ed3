"""Build zookit's embedded image set (src/zookit/images/) from openly licensed photos.

Each photo gives four pictures: the whole photo and three crops (centre, upper left, lower right at
60% of the shorter side), each scaled so its longer side is 224 pixels and saved as JPEG (quality 85).
Usage: python tools/make_images.py PHOTO_DIR OUT_DIR  (PHOTO_DIR holds the files listed in PHOTOS)
"""

import sys
from pathlib import Path

import tensorflow as tf

PHOTOS = [
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "camera.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "grace_hopper.jpg",
]
LONGER_SIDE = 224


def pictures(image):
    h, w = image.shape[0], image.shape[1]
    side = int(min(h, w) * 0.6)
    yield "full", image
    yield "centre", image[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
    yield "upper-left", image[:side, :side]
    yield "lower-right", image[h - side :, w - side :]


def main(src: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        image = tf.io.decode_image((src / name).read_bytes(), channels=3, expand_animations=False)
        for part, crop in pictures(image):
            h, w = crop.shape[0], crop.shape[1]
            factor = LONGER_SIDE / max(h, w)
            small = tf.image.resize(crop, (round(h * factor), round(w * factor)), antialias=True)
            pixels = tf.cast(tf.clip_by_value(tf.round(small), 0, 255), tf.uint8)
            (out / f"{Path(name).stem}-{part}.jpg").write_bytes(tf.io.encode_jpeg(pixels, quality=85).numpy())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
