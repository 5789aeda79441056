"""scenegen evaluate's parts without rendering: metrics against hand counts and closed forms, folds by image,
letterboxed crops, class matching, the Inception weights check. KID and the Frechet distance are checked on
Gaussians, whose values are known in closed form, directly and through randomly initialised networks."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
import scipy.linalg

from scenegen.errors import ScenegenError
from scenegen.tools.evaluate.classes import match_classes, parse_map
from scenegen.tools.evaluate.crops import PAD, letterbox
from scenegen.tools.evaluate.metrics import (
    balanced_accuracy,
    classification,
    confusion,
    frechet_distance,
    frechet_of,
    image_folds,
    kid,
    mmd2_unbiased,
)


def test_balanced_accuracy_by_hand():
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 0, 2, 2, 2, 2, 0, 1])
    assert confusion(truth, predicted, 3).tolist() == [[3, 1, 0], [1, 1, 0], [1, 1, 4]]
    assert balanced_accuracy(truth, predicted, 3) == pytest.approx((3 / 4 + 1 / 2 + 4 / 6) / 3)
    # a class with no crops in the truth is left out of the mean, not counted as recall 0
    assert balanced_accuracy(truth, predicted, 4) == pytest.approx((3 / 4 + 1 / 2 + 4 / 6) / 3)


def test_random_predictions_score_chance_within_the_interval_whatever_the_frequencies():
    rng = np.random.default_rng(1)
    truth = rng.choice(3, 900, p=[0.7, 0.2, 0.1])
    predicted = rng.choice(3, 900, p=[0.1, 0.1, 0.8])  # independent of the truth, mostly class 2
    result = classification(truth, predicted, ["a", "b", "c"], 1000, np.random.default_rng(0))
    low, high = result["balanced_accuracy_interval"]
    assert result["chance"] == pytest.approx(1 / 3)
    assert low <= 1 / 3 <= high
    assert result["accuracy"] < 0.2  # plain accuracy is fooled by the frequencies; balanced accuracy is not
    for name, count in zip("abc", np.bincount(truth), strict=True):
        entry = result["per_class"][name]
        assert entry["crops"] == count and entry["interval"][0] <= entry["recall"] <= entry["interval"][1]


def test_a_perfect_classifier_has_a_zero_width_interval_at_one():
    truth = np.repeat(np.arange(4), 30)
    result = classification(truth, truth, list("abcd"), 200, np.random.default_rng(0))
    assert result["balanced_accuracy"] == 1.0 and result["balanced_accuracy_interval"] == [1.0, 1.0]


def test_folds_keep_each_images_crops_together():
    rng = np.random.default_rng(3)
    image_ids = rng.integers(0, 40, 300) * 7 + 1000  # 40 images, sparse ids, uneven crop counts
    folds = image_folds(image_ids, 3, np.random.default_rng(0))
    for image in np.unique(image_ids):
        assert len(set(folds[image_ids == image].tolist())) == 1
    images_per_fold = [len(np.unique(image_ids[folds == k])) for k in range(3)]
    assert sorted(images_per_fold) == [13, 13, 14]


def gaussian_moments(mean: float, std: float) -> list[float]:
    """E[x^k], k = 0..3, of N(mean, std^2)."""
    return [1.0, mean, mean**2 + std**2, mean**3 + 3 * mean * std**2]


def cubic_kernel_mean(a: list[float], b: list[float]) -> float:
    """E[(x y + 1)^3] for independent 1-D x, y with moments a, b: the binomial sum, each term factorised."""
    return sum(comb(3, j) * a[j] * b[j] for j in range(4))


def mean_mmd2(draw_x, draw_y, repeats: int = 100) -> tuple[float, float]:
    """The mean of ``mmd2_unbiased`` over ``repeats`` fresh pairs of samples, and its standard error."""
    values = np.array([mmd2_unbiased(draw_x(), draw_y()) for _ in range(repeats)])
    return float(values.mean()), float(values.std() / np.sqrt(repeats))


@pytest.mark.parametrize(("mean", "std"), [(0.5, 1.0), (0.0, 1.3), (-0.3, 0.7)])
def test_kid_matches_the_closed_form_of_1d_gaussians(mean, std):
    """The unbiased estimate averages to the population MMD^2, known from the Gaussians' moments."""
    rng = np.random.default_rng(5)
    p, q = gaussian_moments(0.0, 1.0), gaussian_moments(mean, std)
    exact = cubic_kernel_mean(p, p) + cubic_kernel_mean(q, q) - 2 * cubic_kernel_mean(p, q)
    got, error = mean_mmd2(lambda: rng.normal(0.0, 1.0, (400, 1)), lambda: rng.normal(mean, std, (400, 1)))
    assert exact > 0.5 and abs(got - exact) < 4 * error and error < 0.1 * exact


@pytest.mark.slow
def test_kid_matches_the_closed_form_of_zero_mean_gaussians_in_8d():
    """For zero-mean x, y the cubic kernel's odd terms vanish: MMD^2 = 3 / d^2 |cov_x - cov_y|_F^2."""
    rng = np.random.default_rng(6)
    d = 8
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    cov_x, cov_y = np.eye(d), 2.0 * a @ a.T + 0.5 * np.eye(d)
    exact = 3 / d**2 * np.sum((cov_x - cov_y) ** 2)
    zero = np.zeros(d)
    got, error = mean_mmd2(
        lambda: rng.multivariate_normal(zero, cov_x, 400),
        lambda: rng.multivariate_normal(zero, cov_y, 400),
    )
    assert abs(got - exact) < 4 * error and error < 0.1 * exact
    # kid() on one pair of large samples lands near it too
    x, y = rng.multivariate_normal(np.zeros(d), cov_x, 4000), rng.multivariate_normal(np.zeros(d), cov_y, 4000)
    assert kid(x, y, 20, 400, np.random.default_rng(1))["kid"] == pytest.approx(exact, rel=0.25)


def test_kid_is_unbiased_so_equal_distributions_average_zero():
    rng = np.random.default_rng(7)
    values = [mmd2_unbiased(rng.normal(size=(50, 4)), rng.normal(size=(50, 4))) for _ in range(400)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))
    assert min(values) < 0 < max(values)  # the unbiased estimate goes below 0; a biased one would not


def test_frechet_distance_closed_forms():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]])) == pytest.approx(
        4.0 + 1.0
    )
    # rotated diagonal covariances: |m1 - m2|^2 + sum (sqrt(v1) - sqrt(v2))^2, whatever the common rotation
    rng = np.random.default_rng(8)
    d = 6
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    v1, v2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    exact = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = frechet_distance(q @ m1, q @ np.diag(v1) @ q.T, q @ m2, q @ np.diag(v2) @ q.T)
    assert got == pytest.approx(exact, rel=1e-9)
    # covariances that do not commute: against scipy's matrix square root of the product
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = a @ a.T, b @ b.T
    reference = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-6)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow
def test_frechet_and_kid_through_a_randomly_initialised_linear_network():
    """A random linear layer maps N(m, S) to N(W m + b, W S W^T): the distances of its outputs are the closed
    forms of the mapped Gaussians."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3)
    w, bias = layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()
    rng = np.random.default_rng(9)
    m1, m2 = np.zeros(5), rng.normal(size=5)
    s1, s2 = np.eye(5), np.diag(rng.uniform(0.2, 2.0, 5))
    x, y = rng.multivariate_normal(m1, s1, 8000), rng.multivariate_normal(m2, s2, 8000)
    with torch.no_grad():
        fx, fy = (layer(torch.from_numpy(v).float()).double().numpy() for v in (x, y))
    exact = frechet_distance(w @ m1 + bias, w @ s1 @ w.T, w @ m2 + bias, w @ s2 @ w.T)
    assert frechet_of(fx, fy) == pytest.approx(exact, rel=0.1)  # the sample estimate is biased upwards
    # exactly, the layer maps the samples' own mean and covariance
    mapped = [(w @ v.mean(0) + bias, w @ np.cov(v, rowvar=False) @ w.T) for v in (x, y)]
    assert frechet_of(fx, fy) == pytest.approx(frechet_distance(*mapped[0], *mapped[1]), rel=1e-4)
    # zero means and no bias: MMD^2 = 3 / k^2 |W (S1 - S2) W^T|_F^2
    layer.bias.data.zero_()
    exact = 3 / 9 * np.sum((w @ (s1 - s2) @ w.T) ** 2)

    def features(cov):
        with torch.no_grad():
            return layer(torch.from_numpy(rng.multivariate_normal(np.zeros(5), cov, 400)).float()).double().numpy()

    got, error = mean_mmd2(lambda: features(s1), lambda: features(s2))
    assert abs(got - exact) < 4 * error and error < 0.1 * exact


def smooth_images(count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(count, size, size, 3) uint8 random blobs: low-frequency noise scaled up."""
    import cv2

    low = rng.uniform(40, 200, (count, 4, 4, 3)).astype(np.float32)
    return (
        np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC) for image in low])
        .clip(0, 255)
        .astype(np.uint8)
    )


@pytest.mark.slow
def test_kid_in_a_random_probes_features_is_zero_for_a_set_against_itself_and_grows_with_a_shift():
    pytest.importorskip("torch")
    from scenegen.tools.evaluate import probe

    device = probe.setup("cpu", 1)
    model = probe.new_probe(3, seed=0)  # randomly initialised, untrained
    images = smooth_images(300, 32, np.random.default_rng(10))
    base = probe.predict(model, images, device)[1]
    values = []
    for shift in (0, 25, 50, 100):
        shifted = np.clip(images.astype(int) + shift, 0, 255).astype(np.uint8)
        values.append(kid(base, probe.predict(model, shifted, device)[1], 20, 150, np.random.default_rng(0)))
    means = [v["kid"] for v in values]
    assert abs(means[0]) < 0.02 * means[1]  # subsets of one set share crops: slightly below 0, never above
    assert means == sorted(means) and values[1]["interval"][0] > 0


def test_letterbox_keeps_the_aspect_ratio():
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 50:90] = (255, 0, 0)  # a 40 x 20 red box
    crop = letterbox(image, [50, 40, 40, 20], 64, 0.0)
    red = (crop[..., 0] > 200) & (crop[..., 1] < 50)
    rows, columns = np.flatnonzero(red.any(1)), np.flatnonzero(red.any(0))
    assert (columns.min(), columns.max()) == (0, 63)
    assert (rows.min(), rows.max()) == (16, 47)  # 32 rows: 2:1, centred
    assert (crop[:16] == PAD).all() and (crop[48:] == PAD).all()
    # a margin takes in the surroundings; a box at the border is clipped to the image, never padded with black
    wide = letterbox(image, [50, 40, 40, 20], 64, 0.5)  # 80 x 40 of image: the box is a quarter of it
    assert ((wide[..., 0] > 200) & (wide[..., 1] < 50)).sum() == pytest.approx(64 * 32 / 4, rel=0.1)
    corner = letterbox(image, [0, 0, 10, 10], 32, 0.5)
    assert corner.shape == (32, 32, 3)


def test_classes_match_by_name_and_map():
    match = match_classes(["cup", "ball", "tree"], ["ball", "box", "mug"], parse_map(["cup=mug"]))
    assert match.classes == ["ball", "mug"]
    assert match.unmatched == ["tree"] and match.synthetic_only == ["box"]
    assert match.target_to_probe == {0: 1, 1: 0} and match.synthetic_to_probe == {0: 0, 2: 1}
    assert parse_map(["sports ball=ball"]) == {"sports ball": "ball"}


@pytest.mark.parametrize(
    ("target", "synthetic", "pairs", "message"),
    [
        (["tree"], ["ball"], [], "no class in common"),
        (["cup"], ["mug"], ["cup"], "expected TARGET_CLASS=SYNTHETIC_CLASS"),
        (["cup"], ["mug"], ["mug=cup"], "the target has no class 'mug'"),
        (["cup"], ["mug"], ["cup=bowl"], "the synthetic dataset has no class 'bowl'"),
        (["cup"], ["mug"], ["cup=mug", "cup=mug"], "mapped twice"),
    ],
)
def test_class_matching_errors(target, synthetic, pairs, message):
    with pytest.raises(ScenegenError, match=message):
        match_classes(target, synthetic, parse_map(pairs))


def test_inception_without_its_weights_says_how_to_get_them(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from scenegen.tools.evaluate.inception import cached_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ScenegenError) as error:
        cached_weights()
    message = str(error.value)
    assert "\n" not in message and str(tmp_path) in message and "IMAGENET1K_V1" in message


@pytest.mark.slow
def test_inception_features_of_a_randomly_initialised_network():
    """The Inception path end to end on a randomly initialised Inception-v3 (no weights needed): 2048 features
    a crop, FID of a set against itself 0, and both distances larger for a shifted set."""
    pytest.importorskip("torch")
    from scenegen.tools.evaluate import probe
    from scenegen.tools.evaluate.inception import inception_features, inception_model

    try:
        model = inception_model(None)
    except ScenegenError as err:  # torchvision built for another torch (this machine's CPU torch): say so
        pytest.skip(str(err))
    device = probe.setup("cpu", 1)
    images = smooth_images(12, 32, np.random.default_rng(11))
    base = inception_features(model, images, device)
    assert base.shape == (12, 2048) and np.isfinite(base).all()
    assert frechet_of(base, base) == pytest.approx(0.0, abs=1e-6 * np.trace(np.cov(base, rowvar=False)))
    shifted = inception_features(model, np.clip(images.astype(int) + 80, 0, 255).astype(np.uint8), device)
    assert frechet_of(base, shifted) > 0 and mmd2_unbiased(base, shifted) > abs(mmd2_unbiased(base[:6], base[6:]))
