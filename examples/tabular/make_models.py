"""scikit-learn and LightGBM penguin classifiers exported to ONNX, for examples/tabular-sklearn.yaml.

What a user brings from the usual tools: skl2onnx (LogisticRegression with and without ZipMap,
LinearSVC, an SVC with Platt probabilities, a RandomForest, a StandardScaler pipeline) and
onnxmltools (LightGBM), i.e. the ai.onnx.ml ops LinearClassifier, SVMClassifier,
TreeEnsembleClassifier, Scaler, Normalizer and ZipMap next to plain ai.onnx ops.

Data: examples/penguins/penguins.csv (333 complete Palmer penguins, built by
examples/penguins/build-penguins.ts; label `species`, six features in column order, island and
sex as integer codes). Rows with an even index (0, 2, ...) train, rows with an odd index are the
test split, written to penguins-test.csv byte for byte as they appear in penguins.csv; the example
spec benchmarks that file.

Outputs in this folder: penguins-test.csv, one .onnx per model, reference-accuracy.json (each
model's test accuracy by scikit-learn's predict and by onnxruntime on the float32 features Tempest
feeds) and SHA256SUMS. Deterministic: fixed random_state everywhere, LightGBM deterministic and
single-threaded, every BLAS/OpenMP pool pinned to one thread before numpy loads; running the
script twice gives the same bytes (test: run it twice into two folders and compare SHA256SUMS).

Run (from the repository root):  /path/to/python examples/tabular/make_models.py [--out DIR]

Pinned requirements (the versions the committed files were made with; other versions may give
other bytes):
    numpy==2.4.6
    scikit-learn==1.9.1
    scipy==1.17.1
    lightgbm==4.7.0
    onnx==1.23.2
    skl2onnx==1.20.0
    onnxmltools==1.16.0
    onnxruntime==1.32.0
    protobuf==7.36.2
"""

import os

# Single-threaded before numpy/scipy/lightgbm load their thread pools.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

REQUIREMENTS = {
    "numpy": "2.4.6",
    "scikit-learn": "1.9.1",
    "scipy": "1.17.1",
    "lightgbm": "4.7.0",
    "onnx": "1.23.2",
    "skl2onnx": "1.20.0",
    "onnxmltools": "1.16.0",
    "onnxruntime": "1.32.0",
    "protobuf": "7.36.2",
}

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_CSV = os.path.join(HERE, "..", "penguins", "penguins.csv")
TEST_CSV = "penguins-test.csv"
LABEL_COLUMN = "species"
CLASS_NAMES = ["Adelie", "Chinstrap", "Gentoo"]
# Opsets onnxruntime 1.30 runs: ai.onnx 13-21, ai.onnx.ml 1-3 (ml 4/5 change TreeEnsemble*).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
LIGHTGBM_OPSET = 15
INPUT_NAME = "float_input"
SEED = 0


def check_versions():
    from importlib.metadata import version

    found = {name: version(name) for name in REQUIREMENTS}
    wrong = {name: v for name, v in found.items() if v != REQUIREMENTS[name]}
    if wrong:
        warnings.warn(
            f"versions differ from the pinned ones {wrong} (pinned: {REQUIREMENTS}); the .onnx bytes may differ"
        )


def read_penguins():
    with open(SOURCE_CSV, encoding="utf-8") as handle:
        lines = handle.read().rstrip("\n").split("\n")
    header = lines[0].split(",")
    rows = lines[1:]
    label_index = header.index(LABEL_COLUMN)
    feature_names = [name for i, name in enumerate(header) if i != label_index]
    values = np.array([[float(v) for v in row.split(",")] for row in rows], dtype=np.float64)
    labels = values[:, label_index].astype(np.int64)
    features = np.delete(values, label_index, axis=1)
    return lines[0], rows, feature_names, features, labels


def models(feature_count):
    """(id, estimator, exporter) per model; the ids are the .onnx file names and the spec's model ids."""
    from lightgbm import LGBMClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    logreg = LogisticRegression(max_iter=10_000, random_state=SEED)
    return [
        # The same fitted model exported twice: skl2onnx's default (label + ZipMap seq(map)) and
        # zipmap=False (label + probability tensor).
        ("logreg-zipmap", logreg, ("skl2onnx", {})),
        ("logreg", logreg, ("skl2onnx", {"zipmap": False})),
        ("scaled-logreg", make_pipeline(StandardScaler(), LogisticRegression(max_iter=10_000, random_state=SEED)), ("skl2onnx", {"zipmap": False})),
        # LinearSVC has no probabilities: its scores are the one-vs-rest decision values (margins).
        # Standalone: skl2onnx 1.20 fails on a LinearSVC inside a Pipeline (it asks the LinearSVC
        # converter for a zipmap option it does not have).
        ("linear-svc", LinearSVC(dual=False, random_state=SEED, max_iter=100_000), ("skl2onnx", {})),
        ("svc", make_pipeline(StandardScaler(), SVC(probability=True, random_state=SEED)), ("skl2onnx", {"zipmap": False})),
        ("random-forest", RandomForestClassifier(n_estimators=50, max_depth=6, random_state=SEED, n_jobs=1), ("skl2onnx", {})),
        (
            "lightgbm",
            LGBMClassifier(
                n_estimators=50,
                num_leaves=8,
                learning_rate=0.1,
                min_child_samples=5,
                random_state=SEED,
                n_jobs=1,
                deterministic=True,
                force_row_wise=True,
                verbose=-1,
            ),
            ("onnxmltools", {}),
        ),
    ]


def export(model_id, estimator, exporter, feature_count):
    name, options = exporter
    if name == "skl2onnx":
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        proto = convert_sklearn(
            estimator,
            name=model_id,
            initial_types=[(INPUT_NAME, FloatTensorType([None, feature_count]))],
            target_opset=TARGET_OPSET,
            options={id(final): options} if options else None,
        )
    else:
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        proto = convert_lightgbm(
            estimator,
            name=model_id,
            initial_types=[(INPUT_NAME, FloatTensorType([None, feature_count]))],
            # onnxmltools takes the ai.onnx opset only, and its LightGBM converter supports at most 15.
            target_opset=LIGHTGBM_OPSET,
            zipmap=True,
        )
    return canonical_bytes(proto)


def canonical_bytes(proto):
    """
    The model's bytes with the exporters' nondeterminism removed. skl2onnx and onnxmltools collect
    the opsets a model uses in a Python set, so the order of opset_import follows string hashing
    and changes from one interpreter to the next (PYTHONHASHSEED); skl2onnx also lists the ai.onnx
    domain twice for some models. One entry per domain, sorted by domain, keeping the highest
    version (what a runtime uses anyway), gives the same bytes on every run. Nothing else changes:
    the graph is the exporter's.
    """
    versions = {}
    for entry in proto.opset_import:
        versions[entry.domain] = max(versions.get(entry.domain, 0), entry.version)
    del proto.opset_import[:]
    for domain in sorted(versions):
        entry = proto.opset_import.add()
        entry.domain = domain
        entry.version = versions[domain]
    return proto.SerializeToString(deterministic=True)


def onnxruntime_predictions(model_bytes, features32):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {INPUT_NAME: features32})
    names = [output.name for output in session.get_outputs()]
    scores = outputs[1]
    if isinstance(scores, list):  # ZipMap: one {class: probability} dict per row
        scores = np.array([[row[c] for c in range(len(CLASS_NAMES))] for row in scores], dtype=np.float32)
    predicted = np.argmax(scores, axis=1)
    label = np.asarray(outputs[0])
    return names, predicted, label


def onnx_graph_nodes(model_bytes):
    import onnx

    return onnx.load_from_string(model_bytes).graph.node


def onnx_opsets(model_bytes):
    import onnx

    return onnx.load_from_string(model_bytes).opset_import


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=HERE, help="output folder (default: this folder)")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    check_versions()
    warnings.filterwarnings("ignore", category=FutureWarning)

    header, rows, feature_names, features, labels = read_penguins()
    index = np.arange(len(rows))
    train, test = index % 2 == 0, index % 2 == 1
    files = {}
    test_csv = ("\n".join([header] + [row for row, keep in zip(rows, test) if keep]) + "\n").encode("utf-8")
    files[TEST_CSV] = test_csv
    # What Tempest feeds: the CSV's numbers as float32.
    test32 = features[test].astype(np.float32)

    reference = {
        "source": "examples/penguins/penguins.csv",
        "split": "train: rows with an even index (0, 2, ...); test: rows with an odd index, in " + TEST_CSV,
        "trainRows": int(train.sum()),
        "testRows": int(test.sum()),
        "features": feature_names,
        "classNames": CLASS_NAMES,
        "targetOpset": {"ai.onnx": TARGET_OPSET[""], "ai.onnx.ml": TARGET_OPSET["ai.onnx.ml"]},
        "requirements": REQUIREMENTS,
        "models": {},
    }
    fitted = {}
    for model_id, estimator, exporter in models(len(feature_names)):
        if id(estimator) not in fitted:
            estimator.fit(features[train], labels[train])
            fitted[id(estimator)] = True
        model_bytes = export(model_id, estimator, exporter, len(feature_names))
        file_name = f"{model_id}.onnx"
        files[file_name] = model_bytes
        sklearn_predicted = estimator.predict(features[test])
        outputs, ort_predicted, ort_label = onnxruntime_predictions(model_bytes, test32)
        reference["models"][model_id] = {
            "file": file_name,
            "sha256": sha256(model_bytes),
            "exporter": exporter[0],
            "estimator": type(estimator).__name__
            if not hasattr(estimator, "steps")
            else "Pipeline(" + ", ".join(type(step).__name__ for _, step in estimator.steps) + ")",
            "input": INPUT_NAME,
            "outputs": outputs,
            "labelOutput": outputs[0],
            "scoreOutput": outputs[1],
            "zipmap": any(node.op_type == "ZipMap" for node in onnx_graph_nodes(model_bytes)),
            "opsets": {entry.domain or "ai.onnx": entry.version for entry in onnx_opsets(model_bytes)},
            # scikit-learn's own predict on the float64 features.
            "sklearnCorrect": int((sklearn_predicted == labels[test]).sum()),
            "sklearnAccuracy": float((sklearn_predicted == labels[test]).mean()),
            # onnxruntime (Python) on the float32 features: argmax of the score output.
            "onnxruntimeCorrect": int((ort_predicted == labels[test]).sum()),
            "onnxruntimeAccuracy": float((ort_predicted == labels[test]).mean()),
            # Rows where the exported label output differs from the argmax of the scores.
            "labelArgmaxDisagreements": int((ort_label != ort_predicted).sum()),
        }
        print(
            f"{file_name}: {len(model_bytes)} bytes, sha256 {sha256(model_bytes)}, test accuracy "
            f"sklearn {reference['models'][model_id]['sklearnAccuracy']:.4f}, "
            f"onnxruntime {reference['models'][model_id]['onnxruntimeAccuracy']:.4f}"
        )
    files["reference-accuracy.json"] = (json.dumps(reference, indent=2, sort_keys=True) + "\n").encode("utf-8")
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(data)
    sums = "".join(f"{sha256(files[name])}  {name}\n" for name in sorted(files))
    with open(os.path.join(out, "SHA256SUMS"), "w", encoding="utf-8") as handle:
        handle.write(sums)
    print(f"wrote {len(files)} files and SHA256SUMS to {out}")


if __name__ == "__main__":
    main()
