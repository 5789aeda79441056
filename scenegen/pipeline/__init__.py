"""Running a render: checks, workers and their render-label-write loop, the finish step (exports,
dataset.json), merging shards, verifying a dataset."""
