"""Tests for the camera and sensor effects of ``scenegen.render.postfx``, on synthetic images."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from omegaconf import OmegaConf

from conftest import REPO
from scenegen.config.load import validate
from scenegen.config.postfx import PostFXConfig
from scenegen.render.postfx import apply_postfx, motion_kernel, standard_normal

EFFECTS = [f.name for f in dataclasses.fields(PostFXConfig)]


def load(name: str) -> PostFXConfig:
    merged = OmegaConf.merge(
        OmegaConf.structured(PostFXConfig), OmegaConf.load(REPO / "conf" / "postfx" / f"{name}.yaml")
    )
    validate(merged, PostFXConfig, "postfx.")
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def only(effect: str, **ranges: list[float]) -> PostFXConfig:
    """none.yaml with ``effect`` at probability 1 and its ranges replaced by ``ranges``."""
    cfg = load("none")
    setattr(cfg, effect, dataclasses.replace(getattr(cfg, effect), probability=1.0, **ranges))
    return cfg


def everything(**effects: dict[str, list[float]]) -> PostFXConfig:
    """default.yaml with every probability 1, and the ranges of ``effects`` replaced."""
    cfg = load("default")
    for name in EFFECTS:
        setattr(cfg, name, dataclasses.replace(getattr(cfg, name), probability=1.0, **effects.get(name, {})))
    return cfg


def flat(value: int, h: int = 120, w: int = 160) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


def textured(h: int = 120, w: int = 160) -> np.ndarray:
    """Random colours in 4x4 blocks: plenty of edges, plenty of colour."""
    blocks = np.random.default_rng(0).integers(30, 226, (h // 4, w // 4, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)


def high_frequency_energy(image: np.ndarray) -> float:
    return float(np.mean(cv2.Laplacian(image.astype(np.float32), cv2.CV_32F) ** 2))


def colourfulness(image: np.ndarray) -> float:
    """Mean of max - min channel over the pixels: 0 for grey."""
    return float((image.max(axis=2).astype(float) - image.min(axis=2)).mean())


def mean_error(image: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(image.astype(float) - reference).mean())


def run(image: np.ndarray, cfg: PostFXConfig, seed: int = 0) -> tuple[np.ndarray, list[dict]]:
    out, applied = apply_postfx(image, cfg, np.random.default_rng(seed))
    assert out.dtype == np.uint8 and out.shape == image.shape
    return out, applied


def test_both_yamls_load_and_validate() -> None:
    default, none = load("default"), load("none")
    assert all(0.0 < getattr(default, name).probability < 1.0 for name in EFFECTS)
    assert all(getattr(none, name).probability == 0.0 for name in EFFECTS)


def test_probability_zero_leaves_the_image_byte_identical() -> None:
    image = textured()
    out, applied = run(image, load("none"))
    assert applied == []
    assert out.tobytes() == image.tobytes()


def test_default_applies_a_varying_subset_in_the_documented_order() -> None:
    cfg, image = load("default"), textured()
    subsets = set()
    for seed in range(40):
        _, applied = run(image, cfg, seed)
        names = [a["effect"] for a in applied]
        assert names == [n for n in EFFECTS if n in names]
        subsets.add(tuple(names))
    assert len(subsets) > 20


def test_records_hold_the_drawn_parameters_inside_their_ranges() -> None:
    cfg = load("default")
    _, applied = run(textured(), everything(), seed=3)
    assert [a["effect"] for a in applied] == EFFECTS
    for record in applied:
        effect_cfg = getattr(cfg, record["effect"])
        for key, value in record.items():
            if key in ("effect", "angle_deg"):
                continue
            lo, hi = getattr(effect_cfg, key)
            assert lo <= value <= hi
    assert 0.0 <= applied[1]["angle_deg"] < 180.0


def test_same_seed_same_output_other_seed_other_output() -> None:
    image, cfg = textured(), everything()
    first, applied = run(image, cfg, seed=7)
    again, applied_again = run(image, cfg, seed=7)
    other, applied_other = run(image, cfg, seed=8)
    assert first.tobytes() == again.tobytes() and applied == applied_again
    assert first.tobytes() != other.tobytes() and applied != applied_other


def test_the_input_is_never_modified() -> None:
    image = textured()
    before = image.copy()
    run(image, everything())
    assert np.array_equal(image, before)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (480, 640)])
def test_every_effect_runs_on_any_size(shape: tuple[int, int]) -> None:
    image = np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)
    _, applied = run(image, everything())
    assert len(applied) == len(EFFECTS)


def test_values_saturate_at_0_and_255_instead_of_wrapping() -> None:
    bright, _ = run(flat(200), only("brightness", factor=[4.0, 4.0]))
    assert (bright == 255).all()
    noisy, _ = run(flat(128), only("gaussian_noise", sigma=[200.0, 200.0]))
    assert noisy.min() == 0 and noisy.max() == 255
    assert abs(noisy.astype(float).mean() - 128) < 5  # symmetric clipping, no wrap-around


@pytest.mark.parametrize(
    "effect, ranges", [("gaussian_blur", {"sigma": [1.5, 1.5]}), ("motion_blur", {"length": [7, 7]})]
)
def test_blur_lowers_high_frequency_energy(effect: str, ranges: dict) -> None:
    image = textured()
    out, _ = run(image, only(effect, **ranges))
    assert high_frequency_energy(out) < 0.5 * high_frequency_energy(image)
    assert abs(out.astype(float).mean() - image.astype(float).mean()) < 2  # blur keeps the light


@pytest.mark.parametrize("seed", range(6))
def test_motion_blur_smears_along_its_direction_only(seed: int) -> None:
    image = np.zeros((61, 61, 3), np.uint8)
    image[30, 30] = 255
    out, applied = run(image, only("motion_blur", length=[21, 21]), seed)
    ys, xs = np.nonzero(out[..., 0] > 0)
    along, across = np.cos(np.radians(applied[0]["angle_deg"])), np.sin(np.radians(applied[0]["angle_deg"]))
    offsets = np.stack([xs - 30, 30 - ys], axis=1)  # image y points down; the kernel's angle is counter-clockwise
    assert np.abs(offsets @ [along, across]).max() >= 8
    assert np.abs(offsets @ [-across, along]).max() <= 2


@pytest.mark.parametrize("length", [1, 2, 5, 8, 15])
@pytest.mark.parametrize("angle", [0.0, 30.0, 45.0, 90.0, 137.0])
def test_motion_kernel_is_a_normalised_centred_line(length: int, angle: float) -> None:
    kernel = motion_kernel(length, angle)
    n = kernel.shape[0]
    assert kernel.shape == (n, n) and n % 2 == 1 and n >= length
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and kernel.min() >= 0
    ys, xs = np.mgrid[:n, :n]
    assert (kernel * ys).sum() == pytest.approx(n // 2, abs=1e-4)
    assert (kernel * xs).sum() == pytest.approx(n // 2, abs=1e-4)


def test_motion_kernel_of_length_one_is_the_identity() -> None:
    assert np.array_equal(motion_kernel(1, 33.0), np.ones((1, 1), np.float32))


def test_gaussian_noise_has_the_drawn_sigma_on_a_flat_image() -> None:
    out, _ = run(flat(128), only("gaussian_noise", sigma=[10.0, 10.0]))
    assert out.astype(float).std() == pytest.approx(10.0, rel=0.05)
    assert out.astype(float).mean() == pytest.approx(128.0, abs=0.5)


def test_shot_noise_grows_with_the_signal_and_spares_black() -> None:
    cfg = only("shot_noise", photons=[500.0, 500.0])
    stds = {v: run(flat(v), cfg)[0].astype(float).std() for v in (0, 50, 200)}
    assert stds[0] == 0.0
    for v in (50, 200):  # a pixel of v counts v / 255 * 500 photons: std sqrt(v * 255 / 500)
        assert stds[v] == pytest.approx(np.sqrt(v * 255 / 500), rel=0.1)


def test_standard_normal_is_standard() -> None:
    z = standard_normal(np.random.default_rng(0), (1000, 1000))
    assert z.dtype == np.float32
    assert abs(z.mean()) < 0.005 and z.std() == pytest.approx(1.0, abs=0.005)


@pytest.mark.parametrize("factor, brighter", [([1.3, 1.3], True), ([0.7, 0.7], False)])
def test_brightness_moves_the_mean(factor: list[float], brighter: bool) -> None:
    image = textured()
    out, _ = run(image, only("brightness", factor=factor))
    assert (out.astype(float).mean() > image.astype(float).mean()) == brighter


@pytest.mark.parametrize("factor, stronger", [([1.5, 1.5], True), ([0.5, 0.5], False)])
def test_contrast_scales_the_spread_about_the_mean(factor: list[float], stronger: bool) -> None:
    image = textured()
    out, _ = run(image, only("contrast", factor=factor))
    assert (out.astype(float).std() > image.astype(float).std()) == stronger
    assert out.astype(float).mean() == pytest.approx(image.astype(float).mean(), abs=2.0)


@pytest.mark.parametrize("gamma, darker", [([2.0, 2.0], True), ([0.5, 0.5], False)])
def test_gamma_moves_the_mid_tones_and_keeps_black_and_white(gamma: list[float], darker: bool) -> None:
    out, _ = run(flat(128), only("gamma", gamma=gamma))
    assert (out[0, 0, 0] < 128) == darker
    ends = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    assert np.array_equal(run(ends, only("gamma", gamma=gamma))[0], ends)


def test_saturation_zero_gives_grey_and_above_one_more_colour() -> None:
    image = textured()
    grey, _ = run(image, only("saturation", factor=[0.0, 0.0]))
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    expected = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert np.abs(grey[..., 0].astype(int) - expected).max() <= 1
    vivid, _ = run(image, only("saturation", factor=[1.5, 1.5]))
    assert colourfulness(vivid) > colourfulness(image)


def test_jpeg_at_low_quality_changes_pixels_more_than_at_high_quality() -> None:
    image = textured()
    low, applied = run(image, only("jpeg", quality=[5, 5]))
    high, _ = run(image, only("jpeg", quality=[95, 95]))
    assert applied == [{"effect": "jpeg", "quality": 5}]
    assert mean_error(low, image) > 2 * mean_error(high, image) > 0


def test_jpeg_keeps_rgb_channel_order() -> None:
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 220
    out, _ = run(red, only("jpeg", quality=[90, 90]))
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 20


def test_vignetting_darkens_the_corners_more_than_the_centre() -> None:
    out, applied = run(flat(200), only("vignetting", strength=[0.4, 0.4]))
    h, w = out.shape[:2]
    centre = out[h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1].astype(float).mean()
    corners = [out[0, 0, 0], out[0, -1, 0], out[-1, 0, 0], out[-1, -1, 0]]
    assert centre == pytest.approx(200, abs=1)
    assert all(c == round(200 * (1 - 0.4)) for c in corners)
    assert applied == [{"effect": "vignetting", "strength": 0.4}]
