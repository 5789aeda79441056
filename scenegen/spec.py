"""SceneSpec: the plain-data description of one frame, shared by every stage.

Frozen dataclasses with no random state and no GL. ``to_dict``/``from_dict``
round-trip through JSON, so any frame can be re-rendered or re-labelled from
its record. Poses are 4x4 row-major lists of floats, object-to-world for
objects and lights, camera-to-world for the camera in the OpenGL convention
(the camera looks along its -Z axis, +Y up).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Matrix = list[list[float]]
Color = list[float]


@dataclass(frozen=True)
class MaterialSpec:
    """A metallic-roughness PBR material."""

    base_color: Color  # (4,) linear RGBA in [0, 1]
    metallic: float
    roughness: float


@dataclass(frozen=True)
class ObjectSpec:
    """One labelled object instance; ``instance_id`` is its value in the id image."""

    instance_id: int
    asset_id: str
    class_name: str
    pose: Matrix  # object-to-world, applied after ``scale``
    scale: float  # uniform scale from the mesh file's units to metres
    material: MaterialSpec


@dataclass(frozen=True)
class LightSpec:
    """A light: ``kind`` is directional, point or spot."""

    kind: str
    color: Color  # (3,) linear RGB in [0, 1]
    intensity: float
    pose: Matrix  # light-to-world; lights shine along their -Z axis
    inner_cone_angle: float = 0.0  # radians, spot lights only
    outer_cone_angle: float = 0.0


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera; ``K`` follows the OpenCV convention (pixel centres at integers)."""

    width: int
    height: int
    K: Matrix  # (3, 3) intrinsics
    pose: Matrix  # camera-to-world, OpenGL axes
    znear: float
    zfar: float


@dataclass(frozen=True)
class PlaneSpec:
    """The support plane z = 0, a square of side ``size`` centred at the origin."""

    size: float
    material: MaterialSpec


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to render and label one frame."""

    index: int
    seed: int
    camera: CameraSpec
    objects: list[ObjectSpec]
    lights: list[LightSpec]
    background_color: Color  # (3,) RGB in [0, 1]
    ambient_light: Color  # (3,) RGB in [0, 1]
    plane: PlaneSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        objects = [ObjectSpec(**{**o, "material": MaterialSpec(**o["material"])}) for o in data["objects"]]
        plane = data.get("plane")
        return cls(
            index=data["index"],
            seed=data["seed"],
            camera=CameraSpec(**data["camera"]),
            objects=objects,
            lights=[LightSpec(**light) for light in data["lights"]],
            background_color=data["background_color"],
            ambient_light=data["ambient_light"],
            plane=None if plane is None else PlaneSpec(plane["size"], MaterialSpec(**plane["material"])),
            extra=data.get("extra", {}),
        )
