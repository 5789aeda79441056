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
class TextureSpec:
    """A texture, regenerated from its own seed by ``textures.texture_image``: a procedural ``kind``,
    ``print`` (label artwork, with a patch of ``image`` when it names one) or ``photo`` (the square crop
    ``crop`` of ``image``, as ``BackdropSpec.crop``)."""

    kind: str
    seed: int
    colors: list[Color]  # (2, 3) RGB in [0, 1]: the pattern blends between them (print: paper, ink; photo: none)
    size: int  # pixels per side
    image: str | None = None  # path of an image file (photo, print)
    crop: list[float] | None = None  # photo: (3,) left, top, side as fractions


@dataclass(frozen=True)
class MaterialSpec:
    """A metallic-roughness PBR material, optionally with a procedural base-colour texture."""

    base_color: Color  # (4,) linear RGBA in [0, 1]; multiplies the texture when there is one
    metallic: float
    roughness: float
    texture: TextureSpec | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaterialSpec:
        texture = data.get("texture")
        return cls(**{**data, "texture": None if texture is None else TextureSpec(**texture)})


@dataclass(frozen=True)
class ObjectSpec:
    """One labelled object instance; ``instance_id`` is its value in the id image."""

    instance_id: int
    asset_id: str
    class_name: str
    pose: Matrix  # object-to-world, applied after ``scale``
    scale: float  # uniform scale from the mesh file's units to metres
    material: MaterialSpec | None  # None: the asset's own material and texture
    shape: dict[str, Any] | None = None  # a shape family's member: {"family", "params"} (scenegen.assets.families)


@dataclass(frozen=True)
class DistractorSpec:
    """An unlabelled occluder: a primitive ``shape`` (see ``DISTRACTOR_SHAPES``) of ``size`` metres."""

    shape: str
    pose: Matrix  # object-to-world, applied after scaling the unit primitive by ``size``
    size: list[float]  # (3,) extents along the primitive's x, y, z
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
class BackdropSpec:
    """What shows where no geometry is: a colour, overlaid by a procedural texture or a crop of an image file.

    ``at_infinity`` False: the backdrop is fixed to the screen (the same image whatever the camera pose);
    True: it is fixed to the world at infinity, as a cube map around the camera (``render.panorama``), so it
    moves with the camera's rotation as a real background would (views and sequences use it).

    The crop is the square of side ``crop[2]`` (a fraction of the image's shorter side), widened to
    the frame's aspect ratio, whose top-left corner sits at fractions ``crop[0], crop[1]`` of the
    room left; it is resized to the frame.
    """

    color: Color  # (3,) RGB in [0, 1]
    texture: TextureSpec | None = None
    image: str | None = None  # path of an image file
    crop: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])
    at_infinity: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BackdropSpec:
        texture = data.get("texture")
        return cls(**{**data, "texture": None if texture is None else TextureSpec(**texture)})


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to render and label one frame."""

    index: int
    seed: int
    camera: CameraSpec
    objects: list[ObjectSpec]
    lights: list[LightSpec]
    backdrop: BackdropSpec
    ambient_light: Color  # (3,) RGB in [0, 1]
    plane: PlaneSpec | None = None
    distractors: list[DistractorSpec] = field(default_factory=list)
    unplaced: int = 0  # objects drawn but left out: no room for them, or (drop) they left the support
    redropped: int = 0  # scene.layout=drop: objects dropped again after leaving the support
    shadows: bool = False  # directional and spot lights cast shadows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        def material(d: dict[str, Any] | None) -> MaterialSpec | None:
            return None if d is None else MaterialSpec.from_dict(d)

        plane = data.get("plane")
        return cls(
            index=data["index"],
            seed=data["seed"],
            camera=CameraSpec(**data["camera"]),
            objects=[ObjectSpec(**{**o, "material": material(o["material"])}) for o in data["objects"]],
            lights=[LightSpec(**light) for light in data["lights"]],
            backdrop=BackdropSpec.from_dict(data["backdrop"]),
            ambient_light=data["ambient_light"],
            plane=None if plane is None else PlaneSpec(plane["size"], MaterialSpec.from_dict(plane["material"])),
            distractors=[DistractorSpec(**{**d, "material": material(d["material"])}) for d in data["distractors"]],
            unplaced=data["unplaced"],
            redropped=data.get("redropped", 0),
            shadows=data.get("shadows", False),
        )
