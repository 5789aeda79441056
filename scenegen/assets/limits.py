"""What an asset pack may hold: the limits of ``objects.max_*`` that reading a pack checks."""

from __future__ import annotations

from dataclasses import dataclass

from scenegen.config.schema import ObjectsConfig


@dataclass(frozen=True)
class MeshLimits:
    """What a pack may hold (``objects.max_*`` in the config): faces per mesh, megabytes per mesh with
    the files it references, pixels per texture, convex-hull faces for resting poses (a mesh whose hull
    has more is given the poses of a simplified hull), manifest kilobytes and expanded manifest nodes."""

    max_faces: int
    max_megabytes: float
    max_texture_pixels: int
    max_pose_hull_faces: int
    max_manifest_kilobytes: float
    max_manifest_nodes: int

    @classmethod
    def of(cls, objects: ObjectsConfig) -> MeshLimits:
        return cls(
            objects.max_mesh_faces,
            objects.max_mesh_megabytes,
            objects.max_texture_pixels,
            objects.max_pose_hull_faces,
            objects.max_manifest_kilobytes,
            objects.max_manifest_nodes,
        )
