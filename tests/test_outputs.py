"""The kinds of frame file, each declared by a module of scenegen/outputs/: the registry, the frame's kinds,
and a new output in one module, rendered, verified and repaired like the built-in ones."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import scenegen.outputs
from conftest import small_config
from scenegen.config.load import config_from_data, to_container
from scenegen.config.schema import Config, OutputConfig
from scenegen.dataset.record import ENCODERS, encode_file
from scenegen.errors import ConfigError, ScenegenError
from scenegen.outputs.registry import (
    DECLARED,
    FILE_KINDS,
    SEQUENCE_FLAGS,
    config_schema,
    discover_outputs,
    frame_kinds,
)
from scenegen.scene.frames import FramePlace


def test_the_declared_kinds_are_the_dataset_layout():
    """The README's layout, in the records' order: declaring the outputs moved no file."""
    assert FILE_KINDS == {
        "image": ("images", ".png"),
        "instance_mask": ("masks", ".png"),
        "semantic_mask": ("semantic", ".png"),
        "depth_png": ("depth", ".png"),
        "depth_npy": ("depth", ".npy"),
        "normals": ("normals", ".png"),
        "flow_fw": ("flow", "_fw.npy"),
        "flow_bw": ("flow", "_bw.npy"),
        "flow_fw_png": ("flow", "_fw.png"),
        "flow_bw_png": ("flow", "_bw.png"),
        "tracks": ("tracks", ".npz"),
    }
    assert list(FILE_KINDS) == list(DECLARED)
    assert [kind for kind, output in DECLARED.items() if output.per_scene] == ["tracks"]
    assert SEQUENCE_FLAGS == ["flow", "tracks"]


def test_every_suffix_names_an_encoding_that_numpy_and_opencv_read_back():
    ids = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    for kind, (_, suffix) in FILE_KINDS.items():
        assert suffix[suffix.rfind(".") :] in ENCODERS, kind
    assert np.array_equal(cv2.imdecode(np.frombuffer(encode_file("instance_mask", ids), np.uint8), -1), ids)
    depth = ids.astype(np.float32) / 7
    assert np.array_equal(np.load(io.BytesIO(encode_file("depth_npy", depth))), depth)


def test_a_frame_has_the_kinds_its_config_asks_for_at_its_place_in_the_sequence(tmp_path):
    still = small_config(tmp_path, "output.depth_npy=true", "output.normals=true")
    assert frame_kinds(still, FramePlace(0, 0, 0)) == {"image", "instance_mask", "depth_npy", "normals"}
    video = small_config(
        tmp_path, "sequence.frames=3", "output.flow=true", "output.tracks=4", "output.instance_masks=false"
    )
    flow = {"fw": {"flow_fw", "flow_fw_png"}, "bw": {"flow_bw", "flow_bw_png"}}
    expected = [flow["fw"], flow["fw"] | flow["bw"], flow["bw"]]
    for frame, kinds in enumerate(expected):
        assert frame_kinds(video, FramePlace(1, 0, frame)) == {"image", "tracks"} | kinds
    no_flow = small_config(tmp_path, "sequence.frames=3", "output.flow=false")
    assert frame_kinds(no_flow, FramePlace(0, 0, 1)) == {"image", "instance_mask"}


TOY_OUTPUT = '''"""A toy output: the instance ids as int32 .npy, when its own flag output.toy_ids asks."""
import numpy as np

from scenegen.outputs.output import FileOutput

OUTPUTS = (
    FileOutput("toy_ids", "toy", ".npy", flag="toy_ids", default=False, make=lambda frame: frame.ids.astype(np.int32)),
)
'''


def _with_module(monkeypatch, folder: Path, name: str, source: str) -> dict:
    """``discover_outputs()`` with one more module ``name`` in the package, holding ``source``."""
    (folder / f"{name}.py").write_text(source)
    monkeypatch.setattr(scenegen.outputs, "__path__", [*scenegen.outputs.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, f"scenegen.outputs.{name}", raising=False)
    try:
        return discover_outputs()
    finally:
        sys.modules.pop(f"scenegen.outputs.{name}", None)


def test_a_module_declaring_outputs_adds_its_kinds_after_the_built_in_ones(tmp_path, monkeypatch):
    found = _with_module(monkeypatch, tmp_path, "toy", TOY_OUTPUT)
    assert list(found) == [*DECLARED, "toy_ids"]
    assert (found["toy_ids"].folder, found["toy_ids"].suffix) == ("toy", ".npy")
    _, schema = config_schema(found.values())
    cfg = small_config(tmp_path, schema=schema)
    assert cfg.output.toy_ids is False and not found["toy_ids"].wanted(cfg, FramePlace(0, 0, 0))
    assert found["toy_ids"].wanted(small_config(tmp_path, "output.toy_ids=true", schema=schema), FramePlace(0, 0, 0))


def test_an_outputs_own_flag_is_a_key_of_the_config_typed_by_its_default(tmp_path, monkeypatch):
    """The flag an output declares with a default is a config key like the YAML's: on the command line, in
    ``dataset.json``'s config, bounded; the built-in schema is left as it is."""
    count = 'FileOutput("toy_count", "toyc", ".npy", flag="toy_count", default=3)'
    source = TOY_OUTPUT.replace("),\n)", f"),\n    {count},\n)")
    found = _with_module(monkeypatch, tmp_path, "toy", source)
    output_schema, schema = config_schema(found.values())
    assert issubclass(schema, Config) and issubclass(output_schema, OutputConfig)
    assert config_schema(DECLARED.values()) == (OutputConfig, Config)  # no output of its own: the schema itself
    cfg = small_config(tmp_path, "output.toy_count=7", schema=schema)
    assert (cfg.output.toy_ids, cfg.output.toy_count) == (False, 7)
    assert config_from_data(to_container(cfg), schema) == cfg
    with pytest.raises(ConfigError, match=r"^config: output\.toy_count = -1 must be in \[0, 1000000000\]$"):
        small_config(tmp_path, "output.toy_count=-1", schema=schema)
    with pytest.raises(ConfigError, match=r"output\.toy_ids"):
        small_config(tmp_path, "output.toy_ids=maybe", schema=schema)
    with pytest.raises(ConfigError, match=r"output\.toy_ids"):  # without the outputs' schema, no such key
        small_config(tmp_path, "output.toy_ids=true")


@pytest.mark.parametrize(
    "declaration, problem",
    [
        ('FileOutput("normals", "mine", ".png")', "scenegen.outputs.bad: 'normals' is declared twice"),
        ('FileOutput("mine", "depth", ".npy")', "scenegen.outputs.bad: 'mine' writes depth/NNNNNN.npy, as 'depth_npy'"),
        ('FileOutput("mine", "mine", ".png", flag="nope")', "'mine' is asked for by output.nope, which the config"),
        ('FileOutput("mine", "mine", ".png", flag="normals", default=True)', "'mine' gives a default to output.normal"),
        ('FileOutput("mine", "mine", ".png", flag="mine", default=0.5)', "'mine': output.mine=0.5 must be a name with"),
        ('FileOutput("mine", "mine", ".png", flag="a-b", default=False)', "'mine': output.a-b=False must be a name"),
        (
            'FileOutput("a", "a", ".png", flag="mine", default=False), '
            'FileOutput("b", "b", ".png", flag="mine", default=2)',
            "'b' gives output.mine the default 2, 'a' False",
        ),
    ],
)
def test_a_bad_declaration_is_one_line_naming_its_module(tmp_path, monkeypatch, declaration, problem):
    source = f"from scenegen.outputs.output import FileOutput\nOUTPUTS = ({declaration},)\n"
    with pytest.raises(ScenegenError, match=problem.replace(".", r"\.")):
        _with_module(monkeypatch, tmp_path, "bad", source)


def _scenegen_with(extra: Path, *args: str):
    """``scenegen ARGS`` in a fresh interpreter whose ``scenegen.outputs`` also holds the modules of ``extra``."""
    from test_house import _scenegen_with

    return _scenegen_with(extra, *args, package="scenegen.outputs")


@pytest.mark.slow
def test_a_new_output_is_one_module_rendered_verified_and_repaired(tmp_path):
    extra = tmp_path / "more_outputs"
    extra.mkdir()
    (extra / "toy.py").write_text(TOY_OUTPUT)
    shown = _scenegen_with(extra, "render", "--show-config")  # the flag is the config's, off by default
    assert shown.returncode == 0 and "  toy_ids: false\n" in shown.stdout, shown.stderr
    hydra = _scenegen_with(extra, "render", "--cfg", "job", "output.toy_ids=true")  # and Hydra's
    assert hydra.returncode == 0 and "  toy_ids: true\n" in hydra.stdout, hydra.stderr
    out = tmp_path / "out"
    render = ["render", "render.width=96", "render.height=72", "num_scenes=2", f"output_dir={out}", "--no-progress"]
    done = _scenegen_with(extra, *render, "output.toy_ids=true")
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "dataset.json").read_text())["config"]["output"]["toy_ids"] is True
    records = sorted((out / "labels").glob("*.json"))
    assert len(records) == 2
    for path in records:
        files = json.loads(path.read_text())["files"]
        assert list(files) == ["image", "instance_mask", "toy_ids"]
        assert files["toy_ids"]["path"] == f"toy/{path.stem}.npy"
        ids = cv2.imread(str(out / files["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        toy = np.load(out / files["toy_ids"]["path"])
        assert toy.dtype == np.int32 and np.array_equal(toy, ids) and ids.max() > 0
    assert _scenegen_with(extra, "verify", str(out)).returncode == 0
    damaged = out / "toy" / "000001.npy"
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[:-4])
    verified = _scenegen_with(extra, "verify", str(out))
    assert verified.returncode != 0 and str(damaged) in verified.stderr, verified.stderr
    resumed = _scenegen_with(extra, *render, "output.toy_ids=true")  # the same command renders it again
    assert resumed.returncode == 0, resumed.stderr
    assert damaged.read_bytes() == whole
    assert _scenegen_with(extra, "verify", str(out)).returncode == 0


@pytest.mark.slow
def test_a_config_with_an_outputs_own_flag_reaches_a_worker_process(tmp_path):
    """The config's classes with an output's own flag are the registry's own, so a spawned worker unpickles
    the config it is sent as the class it was."""
    from test_house import _python

    extra = tmp_path / "more_outputs"
    extra.mkdir()
    (extra / "toy.py").write_text(TOY_OUTPUT)
    code = (
        "import pickle, scenegen.outputs\n"
        f"scenegen.outputs.__path__.append({str(extra)!r})\n"
        "from scenegen.config.load import load_config\n"
        "from scenegen.outputs.registry import CONFIG_SCHEMA\n"
        "cfg = load_config(['output.toy_ids=true'], CONFIG_SCHEMA)\n"
        "back = pickle.loads(pickle.dumps(cfg))\n"
        "print(type(back).__qualname__, type(back.output).__qualname__, back == cfg, back.output.toy_ids)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["DeclaredConfig", "DeclaredOutputConfig", "True", "True"]
