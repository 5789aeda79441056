"""Label math on hand-made arrays, checked against pycocotools."""

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from scenegen.labels.crop import Crop, instance_crops
from scenegen.labels.masks import instance_annotations, semantic_image
from scenegen.labels.rle import encode_rle


def test_box_is_tight_and_inclusive():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True  # rows 2..4, cols 3..8
    assert Crop.of(mask).box() == [3, 2, 6, 3]
    single = np.zeros((4, 4), bool)
    single[3, 0] = True
    assert Crop.of(single).box() == [0, 3, 1, 1]


def test_instance_crops_give_areas_boxes_and_full_masks():
    ids = np.array([[0, 1, 1], [2, 2, 2], [0, 0, 3]], np.uint16)
    anns = instance_annotations(ids, 4, 1)
    assert [a["visible_pixels"] for a in anns] == [2, 3, 1, 0]
    assert [a.get("bbox") for a in anns] == [[1, 0, 2, 1], [0, 1, 3, 1], [2, 2, 1, 1], None]
    for k, crop in enumerate(instance_crops(ids, 3), start=1):
        rle = encode_rle(crop)
        assert np.array_equal(coco_mask.decode({**rle, "counts": rle["counts"].encode()}).astype(bool), ids == k)


@pytest.mark.parametrize("seed", range(30))
def test_rle_of_a_crop_equals_rle_of_the_full_mask(seed):
    """Runs that cross column boundaries and touch the image border, computed from the crop alone."""
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 30, 2)
    ids = (rng.random((h, w)) < 0.3).astype(np.uint16) * rng.integers(1, 3, (h, w)).astype(np.uint16)
    for k, crop in enumerate(instance_crops(ids, 2), start=1):
        if crop is not None:
            theirs = coco_mask.encode(np.asfortranarray((ids == k).astype(np.uint8)))
            assert encode_rle(crop)["counts"] == theirs["counts"].decode()


@pytest.mark.parametrize("seed", range(50))
def test_rle_matches_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 60, 2)
    mask = rng.random((h, w)) < rng.random()
    if seed % 5 == 0:  # long runs exercise the multi-byte code
        mask = np.zeros((h, w), bool)
        mask[h // 3 :, w // 2 :] = True
    ours = encode_rle(mask)
    theirs = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["counts"] == theirs["counts"].decode()
    decoded = coco_mask.decode({"size": ours["size"], "counts": ours["counts"].encode()})
    assert np.array_equal(decoded.astype(bool), mask)
    assert coco_mask.area(theirs) == mask.sum()


def test_annotations_follow_min_visible_pixels():
    ids = np.zeros((20, 20), np.uint16)
    ids[0:10, 0:10] = 1  # 100 px
    ids[15, 15:18] = 2  # 3 px
    # instance 3 is absent: fully hidden
    anns = instance_annotations(ids, 3, min_visible_pixels=5)
    assert [a["visible_pixels"] for a in anns] == [100, 3, 0]
    assert anns[0]["bbox"] == [0, 0, 10, 10] and anns[0]["area"] == 100
    assert "bbox" not in anns[1] and "bbox" not in anns[2]
    assert "bbox" not in instance_annotations(ids, 3, min_visible_pixels=0)[2]  # empty is never annotated


def test_semantic_image_maps_instances_to_categories():
    ids = np.array([[0, 1], [2, 3]], np.uint16)
    sem = semantic_image(ids, np.array([0, 5, 5, 2]))
    assert sem.dtype == np.uint16 and sem.tolist() == [[0, 5], [5, 2]]
