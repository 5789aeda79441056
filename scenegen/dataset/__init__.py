"""A dataset folder: the frame record, dataset.json, atomic writes, merging shards."""
