"""Exports built from the frame records alone (COCO, COCO keypoints, YOLO, YOLO-seg, BOP, YouTube-VIS, MOT):
each module declares its ``EXPORTS``, ``registry.py`` collects them; the exports' links, the split, and the
COCO reader."""
