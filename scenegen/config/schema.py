"""Config schemas, registered with Hydra's ConfigStore.

Every group in ``conf/`` has a dataclass here, so a wrong key or a wrong type
fails at composition with the key named. The schemas hold types and bounds;
the values, defaults included, live in the YAML files of ``conf/``. Bounds are
field metadata: ``span`` marks a ``[min, max]`` pair, ``bounds`` a scalar, and
``scenegen.config.load.validate`` checks both before anything is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from scenegen.config.fields import bounded, span
from scenegen.config.postfx import PostFXConfig

MAX_FRAMES = 1_000_000  # frame files are named NNNNNN


class Choice(str, Enum):
    """A named option of a config key: Hydra refuses other names; it compares, prints and serialises as its name."""

    def __str__(self) -> str:
        return str(self.value)


class Layout(Choice):
    tabletop = "tabletop"
    flying = "flying"
    drop = "drop"


class Balance(Choice):
    uniform = "uniform"
    assets = "assets"


class DistractorShape(Choice):
    box = "box"
    sphere = "sphere"
    cylinder = "cylinder"
    cone = "cone"
    capsule = "capsule"
    torus = "torus"


class TextureKind(Choice):
    noise = "noise"
    checker = "checker"
    stripes = "stripes"
    gradient = "gradient"
    marble = "marble"
    wood = "wood"


class LightKind(Choice):
    directional = "directional"
    point = "point"
    spot = "spot"


class Backend(Choice):
    auto = "auto"
    egl = "egl"
    osmesa = "osmesa"


class ExecutorKind(Choice):
    local = "local"
    ray = "ray"


class CameraMotion(Choice):
    static = "static"
    orbit = "orbit"
    dolly = "dolly"
    handheld = "handheld"


@dataclass
class SceneConfig:
    layout: Layout = MISSING  # tabletop: resting on the plane; flying: floating in front of the camera; drop: physics
    objects_per_scene: list[int] = span(0, 200)
    placement_radius: float = bounded(0.01, 100.0)  # metres: tabletop objects rest inside this disk
    plane_size: float = bounded(0.0, 1000.0)  # metres; 0 means no support plane
    max_placement_tries: int = bounded(1, 100_000)
    # metres from the camera to an object's centre, flying layout; one nearer than its radius + camera.znear is redrawn
    flying_depth: list[float] = span(0.05, 1000.0)
    distractors: list[int] = span(0, 200)  # unlabelled occluders per scene
    distractor_shapes: list[DistractorShape] = MISSING
    distractor_size: list[float] = span(0.001, 100.0)  # metres, each extent of a distractor
    bin_wall_height: float = bounded(0.0, 100.0)  # metres; > 0 walls the placement disk in, as a bin
    views_per_scene: int = bounded(1, MAX_FRAMES)  # camera poses of each scene, one frame each
    max_frames: int = bounded(1, MAX_FRAMES)  # frames of one scene (views or a sequence's frames), at most
    room_size: float = bounded(0.0, 1000.0)  # metres; > 0 stands four textured walls this far apart around the scene
    room_height: float = bounded(0.0, 100.0)  # metres, the room's walls


@dataclass
class CollisionConfig:
    hull_vertices: int = bounded(4, 255)  # at most this many vertices in the one part of a nearly convex mesh
    part_vertices: int = bounded(4, 255)  # at most this many vertices in each part of a decomposition
    convex_ratio: float = bounded(0.0, 1.0)  # mesh volume / hull volume at least this: one convex hull
    concavity: float = bounded(0.001, 1.0)  # CoACD threshold: the concavity a part may keep
    max_parts: int = bounded(1, 256)  # CoACD: at most this many convex parts
    resolution: int = bounded(100, 100_000)  # CoACD: samples for its concavity measure
    preprocess_resolution: int = bounded(10, 200)  # CoACD: voxels per side when remeshing a non-manifold mesh
    mcts_nodes: int = bounded(1, 100)  # CoACD: children per node of its cut search
    mcts_iterations: int = bounded(1, 10_000)  # CoACD: iterations of its cut search
    max_faces: int = bounded(4, 100_000_000)  # a mesh to decompose with more faces is an error (CoACD's time)


@dataclass
class PhysicsConfig:
    time_step: float = bounded(1e-4, 0.05)  # seconds per simulation step
    solver_iterations: int = bounded(1, 500)  # contact solver iterations per step
    contact_erp: float = bounded(0.0, 1.0)  # share of a contact's penetration the solver undoes per step
    max_seconds: float = bounded(0.01, 60.0)  # simulated time limit per drop
    check_seconds: float = bounded(1e-4, 1.0)  # simulated time between checks for rest
    rest_speed: float = bounded(0.0, 10.0)  # m/s: a body slower than this (and rest_spin) is at rest
    rest_spin: float = bounded(0.0, 100.0)  # rad/s
    drop_gap: list[float] = span(0.0, 10.0)  # metres of air around each object's bounding sphere at spawn
    friction: float = bounded(0.0, 100.0)
    rolling_friction: float = bounded(0.0, 100.0)  # also spinning friction: stops balls and spinning tops
    damping: float = bounded(0.0, 1.0)  # linear and angular velocity damping
    max_penetration: float = bounded(0.0, 1.0)  # metres: an object sunk deeper into another is dropped again
    max_redrops: int = bounded(0, 100)  # rounds of re-dropping objects that left the support or sank
    collision: CollisionConfig = MISSING


@dataclass
class ObjectsConfig:
    packs: list[str] = MISSING
    classes: list[str] = MISSING  # empty: every class of the packs
    class_weights: dict[str, float] = MISSING  # class -> weight, default 1
    balance: Balance = MISSING  # uniform: class frequency ~ weight; assets: ~ weight x the class's asset count
    size_scale: list[float] = span(0.01, 100.0)  # multiplies each asset's target size
    shape_variation: float = bounded(0.0, 1.0)  # built-in classes' shape families: 0 the single mesh, 1 full spans
    shape_pool: int = bounded(1, 1000)  # shapes drawn per family and run (each generated and uploaded once)
    shape_spans: dict[str, dict[str, list[float]]] = MISSING  # family -> parameter -> [min, max], narrowing its span
    max_mesh_faces: int = bounded(1, 100_000_000)  # a pack's mesh with more faces is an error
    max_mesh_megabytes: float = bounded(0.0, 100_000.0)  # a mesh file with the files it references, at most
    max_texture_pixels: int = bounded(1, 1_000_000_000)  # width x height of a mesh's texture, at most
    max_pose_hull_faces: int = bounded(8, 1_000_000)  # more convex-hull faces: resting poses of a simplified hull
    max_manifest_kilobytes: float = bounded(0.001, 1_000_000.0)  # a pack's manifest file, at most
    max_manifest_nodes: int = bounded(1, 100_000_000)  # a manifest's nodes with YAML aliases expanded, at most


@dataclass
class MaterialsConfig:
    hue: list[float] = span(0.0, 1.0)
    saturation: list[float] = span(0.0, 1.0)
    value: list[float] = span(0.0, 1.0)
    metallic: list[float] = span(0.0, 1.0)
    roughness: list[float] = span(0.0, 1.0)
    texture_probability: float = bounded(0.0, 1.0)  # chance of a procedural texture on an object
    texture_kinds: list[TextureKind] = MISSING
    texture_size: int = bounded(4, 4096)  # pixels per side
    texture_repeat: float = bounded(0.001, 1000.0)  # metres per texture repeat on meshes without UVs
    keep_asset_material: float = bounded(0.0, 1.0)  # chance of keeping the asset's own colour/texture
    print_probability: float = bounded(0.0, 1.0)  # chance of label print (text, barcode, logos) on an object
    image_dir: str = MISSING  # folder of images whose crops texture objects; "" for none
    image_probability: float = bounded(0.0, 1.0)  # chance an object's texture is a crop of one of them
    max_image_pixels: int = bounded(1, 10_000_000_000)  # width x height of such an image, from its header
    class_hue: dict[str, list[float]] = MISSING  # class -> its own hue span: ties colour to class (a bias!)


@dataclass
class LightingConfig:
    count: list[int] = span(0, 8)
    types: list[LightKind] = MISSING
    directional_intensity: list[float] = span(0.0, 1e6)
    point_intensity: list[float] = span(0.0, 1e6)  # candela, lights ~1-2 m away
    spot_intensity: list[float] = span(0.0, 1e6)
    color_temperature: list[float] = span(1000.0, 40000.0)  # kelvin: 2700 warm bulb, 6500 daylight
    elevation_deg: list[float] = span(-90.0, 90.0)  # direction the light comes from
    distance: list[float] = span(0.01, 1000.0)  # metres from the scene centre, point and spot lights
    ambient: list[float] = span(0.0, 1.0)
    shadow_probability: float = bounded(0.0, 1.0)  # chance per frame that directional and spot lights cast shadows


@dataclass
class CameraConfig:
    distance: list[float] = span(0.01, 1000.0)
    elevation_deg: list[float] = span(-90.0, 90.0)
    azimuth_deg: list[float] = span(-360.0, 720.0)
    roll_deg: list[float] = span(-180.0, 180.0)
    fov_deg: list[float] = span(1.0, 170.0)  # vertical field of view
    look_at_jitter: float = bounded(0.0, 100.0)  # metres
    focal_jitter: float = bounded(0.0, 0.5)  # fx, fy each scaled by 1 + U(-j, j)
    principal_point_jitter: float = bounded(0.0, 1000.0)  # pixels, cx and cy each shifted by U(-j, j)
    znear: float = bounded(1e-6, 1000.0)
    zfar: float = bounded(1e-3, 1e6)


@dataclass
class BackgroundConfig:
    hue: list[float] = span(0.0, 1.0)
    saturation: list[float] = span(0.0, 1.0)
    value: list[float] = span(0.0, 1.0)
    texture_probability: float = bounded(0.0, 1.0)  # procedural texture on the backdrop and on the plane
    image_dir: str = MISSING  # folder of background images; "" for none
    image_probability: float = bounded(0.0, 1.0)  # chance the backdrop is a crop of one of them
    max_image_pixels: int = bounded(1, 10_000_000_000)  # width x height of a background image, from its header


@dataclass
class RenderConfig:
    width: int = bounded(1, 16384)
    height: int = bounded(1, 16384)
    backend: Backend = MISSING  # auto: EGL where its libraries are, else OSMesa
    egl_device: list[int] = MISSING  # EGL devices; worker k renders on egl_device[k % len]
    antialias: bool = MISSING  # 4x MSAA on the colour image; labels are never anti-aliased
    shadow_map_size: int = bounded(16, 8192)  # pixels per side of each light's shadow map


@dataclass
class OutputConfig:
    min_visible_pixels: int = bounded(0, 16384 * 16384)  # fewer visible pixels: counted, not annotated
    instance_masks: bool = MISSING  # masks/NNNNNN.png, 16-bit instance ids
    semantic_masks: bool = MISSING  # semantic/NNNNNN.png, 16-bit category ids
    depth_png: bool = MISSING  # depth/NNNNNN.png, 16-bit millimetres, 0 = no surface
    depth_npy: bool = MISSING  # depth/NNNNNN.npy, float32 metres, 0 = no surface
    normals: bool = MISSING  # normals/NNNNNN.png, camera-frame normals, 8-bit
    amodal: bool = MISSING  # amodal masks, boxes, visibility and truncation per object
    formats: list[str] = MISSING  # exports built from labels/ at the end: names declared in scenegen.formats (registry)
    val_fraction: float = bounded(0.0, 1.0)  # share of frames in the validation split of the exports
    flow: bool = MISSING  # sequences: flow/NNNNNN_fw.npy, _bw.npy (float32) and _fw.png, _bw.png (KITTI)
    tracks: int = bounded(0, 1_000_000)  # sequences: this many point tracks per sequence, tracks/SSSSSS.npz


@dataclass
class SequenceConfig:
    """Short videos: each scene becomes ``frames`` frames, its camera moving, and its objects too (flying
    layout: scripted rigid motion; drop layout: thrown and followed by PyBullet)."""

    frames: int = bounded(1, MAX_FRAMES)  # frames per sequence; 1: no sequences
    fps: float = bounded(0.001, 10_000.0)  # frames per second: motion per frame = speed / fps
    max_seconds: float = bounded(0.0, 1e6)  # a sequence's simulated time, (frames - 1) / fps, at most
    camera_motions: list[CameraMotion] = MISSING  # each sequence draws one of these camera trajectories
    orbit_speed_deg: list[float] = span(0.0, 3600.0)  # orbit: degrees per second about the vertical axis
    dolly_speed: list[float] = span(0.0, 100.0)  # dolly: metres per second along a random straight line
    handheld_shift: list[float] = span(0.0, 10.0)  # handheld: metres, amplitude of the position shake
    handheld_angle_deg: list[float] = span(0.0, 45.0)  # handheld: degrees, amplitude of the rotation shake
    handheld_frequency: list[float] = span(0.0, 100.0)  # handheld: hertz of the shake's sine components
    object_speed: list[float] = span(0.0, 100.0)  # flying layout: metres per second, constant, random direction
    object_spin_deg: list[float] = span(0.0, 3600.0)  # flying layout: degrees per second about a random axis
    throw_speed: list[float] = span(0.0, 100.0)  # drop layout: metres per second each object is thrown at
    throw_spin_deg: list[float] = span(0.0, 36000.0)  # drop layout: degrees per second of its spin


@dataclass
class ExecutorConfig:
    kind: ExecutorKind = MISSING  # local: this machine's processes; ray: Ray actors
    workers: int = bounded(1, 1024)  # processes (or Ray actors), each with its own GL context


@dataclass
class RayConfig:
    address: str = MISSING  # "" starts a local Ray instance; else a cluster's address, e.g. ray://head:10001


@dataclass
class ShardConfig:
    index: int = bounded(0, MAX_FRAMES)  # this job renders frames i with i % count == index
    count: int = bounded(1, MAX_FRAMES)


@dataclass
class Config:
    num_scenes: int = bounded(0, MAX_FRAMES)  # frames are named with 6 digits
    seed: int = bounded(0, 2**63 - 1)
    output_dir: str = MISSING
    cache_dir: str = MISSING  # collision shapes; "" for $XDG_CACHE_HOME/scenegen or ~/.cache/scenegen
    scene: SceneConfig = MISSING
    objects: ObjectsConfig = MISSING
    physics: PhysicsConfig = MISSING
    materials: MaterialsConfig = MISSING
    lighting: LightingConfig = MISSING
    camera: CameraConfig = MISSING
    background: BackgroundConfig = MISSING
    render: RenderConfig = MISSING
    postfx: PostFXConfig = MISSING
    output: OutputConfig = MISSING
    sequence: SequenceConfig = MISSING
    executor: ExecutorConfig = MISSING
    ray: RayConfig = MISSING
    shard: ShardConfig = MISSING


def register_schemas(schema: type[Config] = Config) -> None:
    """Register ``schema`` (``Config`` or a subclass) as ``base_config``, the first entry of
    ``conf/config.yaml``'s defaults."""
    ConfigStore.instance().store(name="base_config", node=schema)
