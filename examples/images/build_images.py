"""Build the photo-crops image-folder dataset of examples/images-mobilenet.yaml.

The task: which of eight photos does a crop come from. The photos are the ones shipped inside
the scikit-learn and scikit-image wheels (no download): china and flower (sklearn), astronaut,
chelsea, coffee, hubble_deep_field, motorcycle_left and rocket (skimage). Train and test crops
come from disjoint parts of each photo (the top 60 % of the rows for train, the bottom 40 % for
test), so the test split measures generalization to unseen regions, not memorized pixels.

Each crop is a random square of 48-160 px, resized to 96x96 and saved as JPEG (quality 90), the
format users bring. Layout: examples/images/photo-crops/{train,test}/<photo>/<nnn>.jpg.

Deterministic: one seeded NumPy generator, PIL's own JPEG encoder. Run twice, same bytes.
  /path/to/python examples/images/build_images.py
Pinned: numpy 2.4.6, pillow 13.0.0, scikit-learn 1.9.1, scikit-image 0.26.0.
"""

import hashlib
import os
import shutil

import numpy as np
from PIL import Image
from skimage import data as skdata
from sklearn.datasets import load_sample_images

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "photo-crops")
SIZE = 96
PER_SPLIT = {"train": 30, "test": 15}


def photos():
    sample = load_sample_images()
    named = dict(zip(("china", "flower"), sample.images))
    # Read the files the wheel ships, so that no loader can reach for a download.
    folder = os.path.dirname(skdata.__file__)
    for file in ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "motorcycle_left.png", "rocket.jpg"):
        named[os.path.splitext(file)[0]] = np.asarray(Image.open(os.path.join(folder, file)).convert("RGB"))
    return {name: np.asarray(image)[:, :, :3] for name, image in sorted(named.items())}


def crops(image, split, count, rng):
    height, width = image.shape[:2]
    top_end = int(height * 0.6)
    row_lo, row_hi = (0, top_end) if split == "train" else (top_end, height)
    for _ in range(count):
        side = int(rng.integers(48, min(161, row_hi - row_lo + 1, width + 1)))
        y = int(rng.integers(row_lo, row_hi - side + 1))
        x = int(rng.integers(0, width - side + 1))
        patch = Image.fromarray(image[y : y + side, x : x + side])
        yield patch.resize((SIZE, SIZE), Image.BILINEAR)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    rng = np.random.default_rng(20261207)
    sums = []
    for name, image in photos().items():
        for split, count in PER_SPLIT.items():
            folder = os.path.join(OUT, split, name)
            os.makedirs(folder)
            for index, patch in enumerate(crops(image, split, count, rng)):
                path = os.path.join(folder, f"{index:03d}.jpg")
                patch.save(path, format="JPEG", quality=90)
    for root, _, files in sorted(os.walk(OUT)):
        for file in sorted(files):
            path = os.path.join(root, file)
            with open(path, "rb") as handle:
                sums.append(f"{hashlib.sha256(handle.read()).hexdigest()}  {os.path.relpath(path, OUT)}")
    with open(os.path.join(OUT, "SHA256SUMS"), "w") as handle:
        handle.write("\n".join(sums) + "\n")
    print(f"{len(sums)} images in {OUT}")


if __name__ == "__main__":
    main()
