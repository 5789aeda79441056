"""Config: the schemas of every group (types and bounds), loading with Hydra overrides, validation."""
