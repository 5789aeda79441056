"""The probe: a small convolutional classifier trained from scratch (no pretrained weights), deterministic.

Architecture (for 64 px crops; any size from 16 works, the pooling at the end is global):

    conv 3x3 stride 2, 16 -> 32 px    conv 3x3, 32, max-pool -> 16 px    conv 3x3, 64, max-pool -> 8 px
    conv 3x3, 128, max-pool -> 4 px   conv 3x3, 128, global mean -> 128 features    linear -> classes

each convolution followed by batch normalisation and ReLU. Training: SGD with Nesterov momentum 0.9, weight
decay, a one-cycle learning rate (30% warm-up to ``learning_rate``, cosine down), cross-entropy weighted by
inverse class frequency, batches of ``batch_size`` (smaller for small sets: at least 16 an epoch) drawn in
a seeded order; augmentation: horizontal flip,
a shift of up to 1/8 of the crop, brightness and contrast each scaled by 0.75-1.25. Every random draw
comes from a ``torch.Generator`` seeded by the caller; with ``torch.use_deterministic_algorithms`` and a fixed
thread count, the same crops and seed give the same weights.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from scenegen.errors import ConfigError

WIDTHS = (16, 32, 64, 128, 128)
FEATURES = WIDTHS[-1]
BATCH_EVAL = 512
MIN_STEPS = 16  # batches per epoch at least: a small set gets smaller batches, not fewer updates
LAYOUT = torch.channels_last  # weights and batches: faster convolutions, pooling and batch norm on the CPU


def setup(device: str, threads: int) -> torch.device:
    """Make torch deterministic on ``device`` ("cpu" or "cuda") with ``threads`` CPU threads."""
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device cuda: torch {torch.__version__} sees no GPU here; use --device cpu")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    return torch.device(device)


def _block(inputs: int, outputs: int, stride: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
    return [conv, nn.BatchNorm2d(outputs), nn.ReLU(inplace=True)]


class Probe(nn.Module):
    """(n, 3, s, s) float images normalised by ``normalise`` -> (n, classes) logits; ``embed`` gives the
    (n, 128) penultimate features."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        a, b, c, d, e = WIDTHS
        self.body = nn.Sequential(
            *_block(3, a, stride=2),
            *_block(a, b),
            nn.MaxPool2d(2),
            *_block(b, c),
            nn.MaxPool2d(2),
            *_block(c, d),
            nn.MaxPool2d(2),
            *_block(d, e),
        )
        self.head = nn.Linear(e, classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))  # a mean, not AdaptiveAvgPool2d: deterministic backward on CUDA

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def describe(classes: int, crop_size: int) -> dict:
    """The probe's architecture in words and its parameter count, for ``evaluate.json``."""
    return {
        "architecture": "conv3x3/2-16, conv3x3-32, maxpool, conv3x3-64, maxpool, conv3x3-128, maxpool, "
        "conv3x3-128, global mean, linear; batch norm + ReLU after each conv",
        "input": [3, crop_size, crop_size],
        "parameters": sum(p.numel() for p in Probe(classes).parameters()),
        "features": FEATURES,
    }


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """(n, s, s, 3) uint8 -> (n, 3, s, s) float, about zero mean and unit spread."""
    return (pixels.permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.25


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A batch ((n, 3, s, s), from ``normalise``) flipped, shifted and with its brightness and contrast changed,
    each image by its own draw from ``generator`` (on the CPU, so the draws are the same on any device)."""
    n, _, s, _ = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    shift = max(1, s // 8)
    offsets = torch.randint(0, 2 * shift + 1, (n, 2), generator=generator)
    contrast = 0.75 + 0.5 * torch.rand(n, 1, 1, 1, generator=generator)
    brightness = 0.75 + 0.5 * torch.rand(n, 1, 1, 1, generator=generator)
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
    padded = nn.functional.pad(x, (shift, shift, shift, shift), mode="replicate").permute(0, 2, 3, 1)
    rows, cols = (offsets[:, k, None].to(x.device) + torch.arange(s, device=x.device) for k in (0, 1))
    index = torch.arange(n, device=x.device)[:, None, None]
    x = padded[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # image i's window at its offsets
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * contrast.to(x.device) + (mean + 2.0) * brightness.to(x.device) - 2.0  # 2.0: black


def train(
    model: Probe,
    pixels: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    seed: int,
    device: torch.device,
    description: str,
    progress: bool,
) -> Probe:
    """Train ``model`` in place on ``pixels`` ((n, s, s, 3) uint8) with ``labels`` ((n,) int) for ``epochs``."""
    generator = torch.Generator().manual_seed(seed)
    classes = model.head.out_features
    counts = np.bincount(labels, minlength=classes).astype(float)
    weights = np.where(counts > 0, len(labels) / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device))
    data, targets = torch.from_numpy(pixels), torch.from_numpy(labels)
    batch_size = max(2, min(batch_size, len(labels) // MIN_STEPS))
    per_epoch = len(labels) // batch_size  # the last partial batch is dropped (batch norm needs 2 or more)
    steps = epochs * per_epoch
    optimiser = torch.optim.SGD(
        model.parameters(), lr=learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, learning_rate, total_steps=steps, pct_start=0.3)
    model.to(device).train()
    with tqdm(total=steps, desc=description, unit="batch", disable=not progress, leave=False) as bar:
        for _ in range(epochs):
            order = torch.randperm(len(labels), generator=generator)
            for step in range(per_epoch):
                batch = order[step * batch_size : (step + 1) * batch_size]
                x = augment(normalise(data[batch]).to(device), generator).contiguous(memory_format=LAYOUT)
                loss = loss_fn(model(x), targets[batch].to(device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                bar.update()
    return model.eval()


@torch.no_grad()
def predict(model: Probe, pixels: np.ndarray, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """The class probabilities ((n, classes) float64) and penultimate features ((n, 128) float64) of
    ``pixels`` ((n, s, s, 3) uint8)."""
    model.to(device).eval()
    probabilities, features = [], []
    for start in range(0, len(pixels), BATCH_EVAL):
        x = normalise(torch.from_numpy(pixels[start : start + BATCH_EVAL])).to(device).contiguous(memory_format=LAYOUT)
        embedded = model.embed(x)
        probabilities.append(torch.softmax(model.head(embedded), dim=1).double().cpu().numpy())
        features.append(embedded.double().cpu().numpy())
    return np.concatenate(probabilities), np.concatenate(features)


def new_probe(classes: int, seed: int) -> Probe:
    """A probe with its weights initialised from ``seed``."""
    torch.manual_seed(seed)
    return Probe(classes).to(memory_format=LAYOUT)  # type: ignore[call-overload]  # torch's stubs lack it
