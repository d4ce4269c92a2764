"""Runs ART's PGD on the digits Tempest's attack-gradient bench wrote, and times it.

Called by bench/attack-gradients.ts:
    python art_reference.py MODEL.onnx X.npy Y.npy OUT_DIR EPS STEPS STEP_SIZE ROUTE:COUNT[,ROUTE:COUNT...]
X.npy is float32 [N, 1, 28, 28] in [0, 1], Y.npy int32 [N] labels; a route attacks the first COUNT
digits. Routes:

- `estimated`: adversarial-robustness-toolbox's own black-box gradient path. The model is an
  onnxruntime session (CPU, 1 thread) behind ART's BlackBoxClassifier (softmax scores), its loss
  gradient estimated by ART's QueryEfficientGradientEstimationClassifier (Ilyas et al. 2018:
  antithetic Gaussian probes, cross-entropy of the scores; ART has no coordinate-wise
  finite-difference estimator for PGD). NUM_BASIS probe pairs per gradient.
- `torch`: ART's white-box path, the ONNX model converted by onnx2torch into a PyTorchClassifier
  (autograd gradients, 1 thread). Only when torch and onnx2torch import.

Both use ART's ProjectedGradientDescent: Linf, no random start, `STEPS` steps of `STEP_SIZE`,
untargeted against the given labels, the whole set as one batch. ART runs every step for every
sample (no early stop). Each route is warmed up with one gradient before timing. Prints JSON: per
route the seconds of `generate`, the gradient calls made and the path of the adversarial .npy
(float32, same shape), or the error the route raised.
"""
import json
import os
import sys
import time

import numpy as np

NUM_BASIS = 784  # probe pairs per estimated gradient: 1,568 model rows, as Tempest's 2D+1 = 1,569


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def one_hot(labels, classes=10):
    out = np.zeros((len(labels), classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out


def estimated_classifier(model_path, input_shape):
    import onnxruntime as ort
    from art.estimators.classification import BlackBoxClassifier, QueryEfficientGradientEstimationClassifier

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(model_path, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name

    def predict(x):
        return softmax(session.run(None, {name: x.astype(np.float32)})[0].astype(np.float64))

    blackbox = BlackBoxClassifier(predict, input_shape=input_shape, nb_classes=10, clip_values=(0.0, 1.0))
    return QueryEfficientGradientEstimationClassifier(blackbox, num_basis=NUM_BASIS, sigma=1e-3)


def torch_classifier(model_path, input_shape):
    import torch
    from onnx2torch import convert
    from art.estimators.classification import PyTorchClassifier

    torch.set_num_threads(1)
    model = convert(model_path).eval()
    return PyTorchClassifier(
        model=model,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=input_shape,
        nb_classes=10,
        clip_values=(0.0, 1.0),
        device_type='cpu',
    )


class CountingGradients:
    """Counts loss_gradient calls (rows) of an ART classifier without changing what it computes."""

    def __init__(self, classifier):
        self.rows = 0
        original = classifier.loss_gradient

        def counted(x, y, **kwargs):
            self.rows += len(x)
            return original(x, y, **kwargs)

        classifier.loss_gradient = counted


def run_route(route, model_path, x, y, out_dir, eps, steps, step_size):
    from art.attacks.evasion import ProjectedGradientDescent

    build = {'estimated': estimated_classifier, 'torch': torch_classifier}[route]
    classifier = build(model_path, x.shape[1:])
    labels = one_hot(y)
    np.random.seed(0)
    classifier.loss_gradient(x[:1], labels[:1])  # warm-up
    counter = CountingGradients(classifier)
    attack = ProjectedGradientDescent(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=step_size,
        max_iter=steps,
        targeted=False,
        num_random_init=0,
        batch_size=len(x),
        verbose=False,
    )
    np.random.seed(0)
    started = time.perf_counter()
    adversarial = attack.generate(x=x, y=labels)
    seconds = time.perf_counter() - started
    path = os.path.join(out_dir, f'adv-{route}.npy')
    np.save(path, adversarial.astype(np.float32))
    return {'samples': len(x), 'seconds': seconds, 'gradientRows': counter.rows, 'adversarial': path}


def main():
    model_path, x_path, y_path, out_dir = sys.argv[1:5]
    eps, steps, step_size = float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
    x = np.load(x_path).astype(np.float32)
    y = np.load(y_path).astype(np.int64)
    import art

    results = {'art': art.__version__}
    for item in sys.argv[8].split(','):
        route, count = item.split(':')
        try:
            results[route] = run_route(route, model_path, x[: int(count)], y[: int(count)], out_dir, eps, steps, step_size)
        except Exception as error:  # report, do not hide: e.g. torch not installed
            results[route] = {'error': f'{type(error).__name__}: {error}'}
    print(json.dumps(results))


if __name__ == '__main__':
    main()
