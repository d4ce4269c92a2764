#!/usr/bin/env bash
# Creates the Python environment the corruption bench compares against: imagecorruptions 1.1.2
# with the library versions it still runs with (its glass_blur and gaussian_blur call
# skimage.filters.gaussian(multichannel=...), removed in scikit-image 0.20; its fog uses
# np.float_, removed in NumPy 2). Output: .tempest/bench-venv (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .tempest/bench-venv
.tempest/bench-venv/bin/pip install --quiet --disable-pip-version-check \
  'numpy<2' 'scikit-image==0.19.3' 'scipy<1.12' 'opencv-python-headless<4.10' 'imagecorruptions==1.1.2'
echo "reference ready: .tempest/bench-venv/bin/python"
