"""Times the reference imagecorruptions 1.1.2 on the images Tempest's corruption bench wrote.

Driven by bench/corruptions.ts, which interleaves it with Tempest's own timings:

    python imagecorruptions_reference.py GRAY.npy RGB.npy

GRAY.npy is uint8 [N, H, W] (N may be 0), RGB.npy uint8 [N, H, W, 3]. The script prints one JSON
line {"ready": true, "versions": {...}}, then answers each request line read from stdin,
"<corruption> <gray|rgb>", with one JSON line: {"seconds": s, "cpuSeconds": c} (wall-clock and
process CPU time) for all images of that set at severities 1-5, or {"error": "..."} when the
reference raised. An empty line or EOF ends it.
Gray images go in as `corrupt` passes them (stacked to three channels); the corruption functions
are called directly because `corrupt` refuses images under 32x32 pixels.

imagecorruptions 1.1.2 was written against NumPy 1, scikit-image < 0.20 and a setuptools that
ships pkg_resources (bench/setup-imagecorruptions.sh installs exactly that). On newer libraries
three names it uses are gone; when (and only when) one is missing, the shims below restore it
with the same meaning, so the package also runs in a current environment; the versions line
says which libraries were measured.
"""
import importlib
import json
import os
import sys
import time
import types

import numpy as np


def install_compatibility_shims():
    try:
        import pkg_resources  # noqa: F401
    except ImportError:  # setuptools >= 81 dropped it; the package only uses resource_filename
        shim = types.ModuleType('pkg_resources')

        def resource_filename(package, resource):
            return os.path.join(os.path.dirname(importlib.import_module(package).__file__), resource)

        shim.resource_filename = resource_filename
        sys.modules['pkg_resources'] = shim
    if not hasattr(np, 'float_'):  # NumPy 2 removed the alias
        np.float_ = np.float64
    import skimage.filters

    original = skimage.filters.gaussian
    if 'multichannel' not in original.__code__.co_varnames:  # scikit-image >= 0.20 renamed it

        def gaussian(image, *args, multichannel=None, **kwargs):
            if multichannel is not None:
                kwargs['channel_axis'] = -1 if multichannel else None
            return original(image, *args, **kwargs)

        skimage.filters.gaussian = gaussian


install_compatibility_shims()

import cv2  # noqa: E402
from PIL import Image  # noqa: E402
from imagecorruptions import corruption_dict  # noqa: E402

# One thread, as Tempest computes a cell on one thread (the bench also sets OMP_NUM_THREADS=1 and
# OPENBLAS_NUM_THREADS=1 for NumPy and SciPy).
cv2.setNumThreads(1)


def time_corruption(name, images):
    function = corruption_dict[name]
    np.random.seed(0)
    started = time.perf_counter()
    started_cpu = time.process_time()
    for severity in range(1, 6):
        for image in images:
            if image.ndim == 2:
                image = np.stack((image,) * 3, axis=-1)
            np.uint8(function(Image.fromarray(image), severity))
    return time.perf_counter() - started, time.process_time() - started_cpu


def versions():
    import PIL
    import scipy
    import skimage
    from importlib.metadata import version

    return {
        'python': sys.version.split()[0],
        'imagecorruptions': version('imagecorruptions'),
        'numpy': np.__version__,
        'scipy': scipy.__version__,
        'scikit-image': skimage.__version__,
        'opencv': cv2.__version__,
        'pillow': PIL.__version__,
    }


def main():
    sets = {'gray': np.load(sys.argv[1]), 'rgb': np.load(sys.argv[2])}
    print(json.dumps({'ready': True, 'versions': versions()}), flush=True)
    for line in sys.stdin:
        request = line.split()
        if not request:
            break
        name, label = request
        try:
            seconds, cpu_seconds = time_corruption(name, sets[label])
            answer = {'seconds': seconds, 'cpuSeconds': cpu_seconds}
        except Exception as error:  # report, do not hide: some corruptions fail on small images
            answer = {'error': f'{type(error).__name__}: {error}'}
        print(json.dumps(answer), flush=True)


if __name__ == '__main__':
    main()
