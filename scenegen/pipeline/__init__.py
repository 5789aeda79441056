"""Running a render: checks, the frames of a shard, workers and their render-label-write loop."""
