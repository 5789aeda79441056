"""Each kind of bad input raises its own subclass of ScenegenError (config, asset, dataset, export), so that a
caller tells the cases apart by type; the command still shows any of them in one line, exit 2."""

import json
from pathlib import Path

import pytest

from conftest import run_main
from scenegen.assets.catalog import build_catalog
from scenegen.assets.limits import MeshLimits
from scenegen.config.load import load_config, to_container
from scenegen.dataset.dataset_file import read_dataset_file, write_dataset_file
from scenegen.errors import AssetError, ConfigError, DatasetError, ExportError, RenderError, ScenegenError
from scenegen.formats.registry import check_formats
from scenegen.pipeline.merge import merge_shards
from scenegen.tools.combine import combine_coco


def test_every_kind_is_a_scenegen_error_and_no_kind_is_another():
    kinds = [ConfigError, AssetError, DatasetError, RenderError, ExportError]
    assert all(issubclass(kind, ScenegenError) for kind in kinds)
    assert not any(issubclass(a, b) for a in kinds for b in kinds if a is not b)


def _empty_mesh_pack(root: Path) -> Path:
    (root / "meshes").mkdir(parents=True)
    (root / "meshes" / "empty.ply").write_bytes(b"")
    asset = {"id": "widget", "class": "widget", "mesh": "meshes/empty.ply", "target_size": 0.1}
    (root / "manifest.json").write_text(json.dumps({"name": "empty", "version": "1", "assets": [asset]}))
    return root


def test_a_bad_key_is_a_config_error_and_a_bad_mesh_an_asset_error(tmp_path):
    with pytest.raises(ConfigError, match="seed"):
        load_config(["seed=-1"])
    limits = MeshLimits.of(load_config([]).objects)
    with pytest.raises(ConfigError, match="objects.packs: no asset pack 'no_such_pack'"):
        build_catalog(["no_such_pack"], [], limits)
    catalog = build_catalog([str(_empty_mesh_pack(tmp_path / "pack"))], [], limits)  # meshes load on first use
    with pytest.raises(AssetError, match="the file is empty"):
        catalog.asset("widget").load_mesh()


def test_an_unknown_format_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown format 'pascal'"):
        check_formats(["pascal"], {})


def test_a_bad_config_inside_a_dataset_file_is_a_dataset_error(tmp_path):
    """The config of ``dataset.json`` is checked as a config is, but the culprit is the dataset's file."""
    config = to_container(load_config([]))
    write_dataset_file(tmp_path, {**config, "seed": -1}, [], status="complete")
    with pytest.raises(DatasetError, match=r"dataset\.json: config: seed") as raised:
        read_dataset_file(tmp_path)
    assert not isinstance(raised.value, ConfigError)


def test_a_folder_that_is_no_dataset_is_a_dataset_error_for_merge(tmp_path):
    with pytest.raises(DatasetError, match="not a scenegen dataset"):
        merge_shards(tmp_path / "merged", [tmp_path])


def test_combining_into_a_source_file_is_an_export_error(tmp_path):
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(ExportError, match="is the COCO file of the source"):
        combine_coco(coco, [coco])


def test_the_command_shows_a_subclass_in_one_line_with_exit_code_2(tmp_path):
    code, stdout, stderr = run_main("merge", str(tmp_path / "merged"), str(tmp_path))
    assert (code, stdout) == (
        2,
        "",
    ) and stderr == f"scenegen: error: {tmp_path}: not a scenegen dataset (no dataset.json)\n"
