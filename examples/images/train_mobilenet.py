"""Train torchvision's mobilenet_v3_small on the photo-crops dataset and export it with torch.onnx.

A real torchvision architecture (HardSwish, HardSigmoid, squeeze-excite, depthwise convolutions),
random init, trained here on the train split: 64x64 inputs normalized with the ImageNet mean and
std, so the spec's preprocessing block (resize 72, center crop 64, mean/std) is what feeds it.
Exported at opset 17 with a dynamic batch axis (the TorchScript exporter, dynamo=False), the
way most published checkpoints are exported.

Writes examples/images/mobilenet_v3_small-photo-crops.onnx and mobilenet-training.json (test
accuracy and the test predictions in the loader's order, measured here with PIL + torchvision).
Deterministic: seeded, one thread, deterministic algorithms; run twice, same bytes.
  /path/to/python examples/images/train_mobilenet.py
Pinned: torch 2.15.0, torchvision 0.29.2, numpy 2.4.6, pillow 13.0.0, onnx 1.23.2.
"""

import hashlib
import json
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "photo-crops")
MODEL = os.path.join(HERE, "mobilenet_v3_small-photo-crops.onnx")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
EPOCHS = 40

torch.manual_seed(0)
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def listing(split):
    """Tempest's order for a class-per-subfolder tree: classes sorted, files sorted, classes interleaved."""
    root = os.path.join(DATA, split)
    classes = sorted(os.listdir(root))
    per_class = [sorted(os.listdir(os.path.join(root, name))) for name in classes]
    order = []
    for position in range(max(len(files) for files in per_class)):
        for label, files in enumerate(per_class):
            if position < len(files):
                order.append((os.path.join(root, classes[label], files[position]), label))
    return classes, order


def load(split, transform):
    _, order = listing(split)
    images = torch.stack([transform(Image.open(path).convert("RGB")) for path, _ in order])
    return images, torch.tensor([label for _, label in order])


def recalibrate_batch_norm(model, images):
    """Replace BatchNorm's running statistics by exact ones over the training images.

    torchvision's MobileNetV3 uses a BatchNorm momentum of 0.01, tuned for ImageNet-length
    training; after a few hundred steps its running averages still lag the weights, and the
    eval-mode network predicts one class. One pass with a cumulative average (momentum None)
    gives the statistics the trained weights expect.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        for start in range(0, len(images), 32):
            model(images[start : start + 32])


def main():
    classes, _ = listing("train")
    evaluate = T.Compose([T.Resize(72, antialias=True), T.CenterCrop(64), T.ToTensor(), T.Normalize(MEAN, STD)])
    train_x, train_y = load("train", T.Compose([T.Resize(72, antialias=True), T.ToTensor()]))
    test_x, test_y = load("test", evaluate)
    normalize = T.Normalize(MEAN, STD)

    model = torchvision.models.mobilenet_v3_small(num_classes=len(classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)
    generator = torch.Generator().manual_seed(1)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            # Augmentation: a random 64x64 window of the 72x72 image and a random horizontal flip.
            offsets = torch.randint(0, 9, (2,), generator=generator).tolist()
            x = train_x[batch, :, offsets[0] : offsets[0] + 64, offsets[1] : offsets[1] + 64]
            if torch.rand(1, generator=generator).item() < 0.5:
                x = x.flip(3)
            loss = torch.nn.functional.cross_entropy(model(normalize(x)), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {loss.item():.3f}")

    recalibrate_batch_norm(model, normalize(train_x[:, :, 4:68, 4:68]))
    model.eval()
    with torch.no_grad():
        predictions = model(test_x).argmax(1)
        train_accuracy = (model(normalize(train_x[:, :, 4:68, 4:68])).argmax(1) == train_y).float().mean().item()
    print(f"after BatchNorm recalibration: train accuracy {train_accuracy:.3f}")
    torch.onnx.export(
        model,
        torch.zeros(1, 3, 64, 64),
        MODEL,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    with open(MODEL, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    report = {
        "model": os.path.basename(MODEL),
        "sha256": digest,
        "classes": classes,
        "testSamples": len(test_y),
        "testAccuracy": (predictions == test_y).float().mean().item(),
        "testPredictions": predictions.tolist(),
        "preprocessing": {"resize": 72, "centerCrop": 64, "mean": MEAN, "std": STD},
        "measuredWith": f"torch {torch.__version__}, torchvision {torchvision.__version__}, PIL decoding",
    }
    with open(os.path.join(HERE, "mobilenet-training.json"), "w") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    print(f"test accuracy {report['testAccuracy']:.4f}; {MODEL} sha256 {digest}")


if __name__ == "__main__":
    main()
