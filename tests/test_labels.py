"""Label math on hand-made arrays, checked against pycocotools."""

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from scenegen.labels import encode_rle, instance_annotations, instance_areas, mask_box, semantic_image


def test_mask_box_is_tight_and_inclusive():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True  # rows 2..4, cols 3..8
    assert mask_box(mask) == [3, 2, 6, 3]
    single = np.zeros((4, 4), bool)
    single[3, 0] = True
    assert mask_box(single) == [0, 3, 1, 1]


def test_areas_count_pixels():
    ids = np.array([[0, 1, 1], [2, 2, 2], [0, 0, 3]], np.uint16)
    assert instance_areas(ids, 4).tolist() == [3, 2, 3, 1, 0]


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
