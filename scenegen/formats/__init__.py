"""Export formats built from frame records (COCO, YOLO, BOP), and the COCO reader."""
