#!/usr/bin/env bash
# Creates the Python environment the attack-gradient bench compares against:
# adversarial-robustness-toolbox with onnxruntime, for ART's black-box PGD route (the example
# model's scores through onnxruntime, gradients estimated by ART). With --torch also torch and
# onnx2torch, for ART's white-box route (PyTorchClassifier on the converted model): PyPI's Linux
# torch wheels bring the CUDA libraries, about 5.5 GB and 3 minutes here. Output:
# .tempest/bench-venv-art (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .tempest/bench-venv-art
packages=('adversarial-robustness-toolbox==1.20.1' 'onnxruntime>=1.20' 'numpy<3' 'scipy')
if [[ "${1:-}" == "--torch" ]]; then packages+=('torch>=2.2' 'onnx2torch==1.5.15'); fi
.tempest/bench-venv-art/bin/pip install --quiet --disable-pip-version-check "${packages[@]}"
echo "reference ready: .tempest/bench-venv-art/bin/python"
