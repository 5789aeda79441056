"""A dataset folder: the frame record, dataset.json, reading back, atomic writes, the folder lock."""
