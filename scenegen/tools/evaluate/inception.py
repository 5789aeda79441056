"""``--features inception``: Inception-v3 pool features (2048) for FID and KID, from torchvision's ImageNet
weights when they are already on this machine. Nothing is downloaded: without the weights file, one line
says how to get it. (torchvision's weights, not the TensorFlow port pytorch-fid uses: the numbers compare
with each other, not with published FIDs.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from scenegen.errors import ConfigError, ScenegenError

WEIGHTS_URL = "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"  # IMAGENET1K_V1
SIZE = 299
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet normalisation, as the weights expect
BATCH = 32


def weights_path() -> Path:
    """Where torch keeps the weights file once torchvision has downloaded it (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_URL.rsplit("/", 1)[1]


def cached_weights() -> Path:
    """The weights file; ScenegenError telling how to get it when it is not on this machine."""
    path = weights_path()
    if not path.is_file():
        raise ConfigError(
            f"--features inception: the Inception-v3 weights are not on this machine ({path}); scenegen downloads "
            'nothing: fetch them once with  python -c "import torchvision; torchvision.models.inception_v3('
            "weights='IMAGENET1K_V1')\"  (or copy the file there), or use --features probe"
        )
    return path


def inception_model(weights: Path | None) -> nn.Module:
    """Inception-v3 returning its (n, 2048) pool features: with ``weights`` (a state dict file), as trained;
    with None, randomly initialised (for tests)."""
    try:
        from torchvision.models.inception import Inception3
    except Exception as err:  # a torchvision built for another torch fails on import in several ways
        raise ConfigError(
            f"--features inception needs torchvision built for torch {torch.__version__}, and it does not import "
            f"here ({' '.join(str(err).split())[:120]}); reinstall it: pip install 'scenegen[evaluate]'"
        ) from None
    model = Inception3(aux_logits=True, transform_input=True, init_weights=weights is None)
    if weights is not None:
        try:
            model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        except Exception as err:  # a truncated or foreign file: pickle, zip and key errors alike
            raise ScenegenError(f"{weights}: not Inception-v3 weights ({' '.join(str(err).split())[:120]})") from None
    model.aux_logits, model.AuxLogits, model.fc = False, None, nn.Identity()
    return model.eval()


@torch.no_grad()
def inception_features(model: nn.Module, pixels: np.ndarray, device: torch.device) -> np.ndarray:
    """(n, 2048) float64 pool features of ``pixels`` ((n, s, s, 3) uint8 crops), each scaled to 299 px."""
    model.to(device)
    mean = torch.tensor(MEAN, device=device)[None, :, None, None]
    std = torch.tensor(STD, device=device)[None, :, None, None]
    out = []
    for start in range(0, len(pixels), BATCH):
        x = torch.from_numpy(pixels[start : start + BATCH]).to(device).permute(0, 3, 1, 2).float() / 255.0
        x = nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        out.append(model((x - mean) / std).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 2048))
