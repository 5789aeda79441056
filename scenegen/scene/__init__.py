"""Scenes: the SceneSpec and the samplers that draw it from the config (placement, materials, lights, camera)."""
