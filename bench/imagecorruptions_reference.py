"""Times the reference imagecorruptions 1.1.2 on the images Tempest's corruption bench wrote.

Called by bench/corruptions.ts: python imagecorruptions_reference.py GRAY.npy RGB.npy
GRAY.npy is uint8 [N, H, W], RGB.npy uint8 [N, H, W, 3]. Prints JSON: for each corruption and
image set, the seconds taken for all images at severities 1-5, or the error the reference raised.
Gray images go in as `corrupt` passes them (stacked to three channels); the corruption functions
are called directly because `corrupt` refuses images under 32x32 pixels.
"""
import json
import sys
import time

import numpy as np
from PIL import Image
from imagecorruptions import corruption_dict, get_corruption_names


def time_corruption(name, images):
    function = corruption_dict[name]
    np.random.seed(0)
    started = time.perf_counter()
    for severity in range(1, 6):
        for image in images:
            if image.ndim == 2:
                image = np.stack((image,) * 3, axis=-1)
            np.uint8(function(Image.fromarray(image), severity))
    return time.perf_counter() - started


def main():
    gray = np.load(sys.argv[1])
    rgb = np.load(sys.argv[2])
    results = {}
    for name in get_corruption_names('all'):
        results[name] = {}
        for label, images in (('gray', gray), ('rgb', rgb)):
            try:
                results[name][label] = time_corruption(name, images)
            except Exception as error:  # report, do not hide: some corruptions fail on small images
                results[name][label] = f'error: {type(error).__name__}: {error}'
    print(json.dumps(results))


if __name__ == '__main__':
    main()
