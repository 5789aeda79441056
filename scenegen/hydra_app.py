"""``scenegen render`` as a Hydra application: Hydra's own flags, multirun and launchers.

    scenegen render --cfg job                                # the composed config (also --info, --hydra-help)
    scenegen render -m num_scenes=1000 shard.count=4 'shard.index=range(4)' 'output_dir=run/shard_${shard.index}'
    scenegen render -m hydra/launcher=submitit_slurm ...     # with hydra-submitit-launcher installed
    scenegen-hydra ...                                       # the same, as a command of its own

``scenegen render`` hands its arguments to this app when they hold one of Hydra's flags or a ``hydra``
override (``wants_hydra``). Each job renders one dataset or shard; ``scenegen merge`` assembles shards.
Hydra writes its own logs under ``outputs/`` or ``multirun/`` (the app is named ``scenegen`` there); the
dataset goes to ``output_dir``; in a sweep (``-m``) each job gets a folder of its own, ``output_dir``
suffixed by the job's number (``out_0``, ``out_1``, ...), unless its ``output_dir`` override interpolates
a value that names each job's folder (``sweep_output_dir``). A bad key or value stops it with one line,
``scenegen: error: ...``, exit 2, as with ``scenegen render``; ``--cfg`` validates the config it prints the
same way.

Hydra instantiates what its config names (callbacks, logging handlers, plugins), so before Hydra starts,
``check_hydra_arguments`` refuses every argument that could name something else than scenegen's configs
and an installed launcher or sweeper plugin: ``_target_`` anywhere, ``hydra.*`` keys outside
``HYDRA_KEYS`` (callbacks, logging, search path, environment), config groups outside ``HYDRA_GROUPS``
placed into ``hydra``, and the flags that read configs or pickles from elsewhere.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import hydra
from hydra._internal.utils import get_args_parser
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from scenegen.config.load import describe_error, finish_config, load_config
from scenegen.config.schema import register_schemas
from scenegen.errors import ConfigError, ScenegenError
from scenegen.outputs.registry import CONFIG_SCHEMA
from scenegen.paths import conf_dir
from scenegen.pipeline.executor import RESUME_HINT
from scenegen.pipeline.run import render_dataset

# Hydra's command-line flags (hydra/_internal/utils.py get_args_parser), as typed alone or before "=".
HYDRA_FLAGS = {
    "--cfg", "-c", "--info", "-i", "--multirun", "-m", "--hydra-help", "--resolve", "--package", "-p",
    "--run", "-r", "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
    "--shell-completion", "-sc", "--experimental-rerun", "--version",
}  # fmt: skip


def wants_hydra(args: list[str]) -> bool:
    """Whether ``scenegen render`` arguments need the Hydra app: one of Hydra's flags, or a ``hydra`` override
    (``hydra.run.dir=...``, ``hydra/launcher=...``, ``+hydra...``, ``~hydra...``)."""
    return any(arg.split("=", 1)[0] in HYDRA_FLAGS or arg.lstrip("+~").startswith(("hydra.", "hydra/")) for arg in args)


HYDRA_GROUPS = ("hydra/launcher", "hydra/sweeper", "hydra/job_logging", "hydra/hydra_logging")  # choices only
HYDRA_KEYS = (  # values that may be set; a prefix ending in "." allows the keys under it
    "hydra.launcher.",
    "hydra.sweeper.",
    "hydra.run.dir",
    "hydra.sweep.dir",
    "hydra.sweep.subdir",
    "hydra.job.chdir",
    "hydra.job.name",
    "hydra.verbose",
    "hydra.mode",
    "hydra.output_subdir",
)
ALLOWED = ", ".join([*(f"{g}=NAME" for g in HYDRA_GROUPS), *(f"{k}*" if k.endswith(".") else k for k in HYDRA_KEYS)])
REFUSED_FLAGS = {
    "config_dir": "--config-dir",
    "config_path": "--config-path",
    "experimental_rerun": "--experimental-rerun",
}


def check_hydra_arguments(argv: list[str]) -> None:
    """Refuse (ScenegenError naming it) any command-line argument that could make Hydra instantiate or load
    something other than scenegen's configs and an installed launcher or sweeper plugin."""
    args = get_args_parser().parse_args(argv)
    for dest, flag in REFUSED_FLAGS.items():
        if getattr(args, dest) is not None:
            raise ConfigError(f"{flag}: refused; scenegen-hydra composes only scenegen's own configs")
    try:
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except HydraException as err:
        raise ConfigError(f"config: {str(err).strip().splitlines()[0]}") from None
    for override in overrides:
        key, line = override.key_or_group, override.input_line
        if "_target_" in key.replace("/", ".").split(".") or "_target_" in _keys_in(override.value()):
            raise ConfigError(f"{line}: refused; scenegen-hydra never instantiates a _target_ from the command line")
        package = override.package or ""
        if package == "_global_" or package.split(".")[0] == "hydra":
            raise ConfigError(f"{line}: refused; a config group may not be placed into {package}")
        if key.replace("/", ".").split(".")[0] == "hydra" and not _allowed_hydra_key(key):
            raise ConfigError(f"{line}: refused; of Hydra's own settings scenegen-hydra accepts only {ALLOWED}")


def _allowed_hydra_key(key: str) -> bool:
    return key in HYDRA_GROUPS or any(key == k or (k.endswith(".") and key.startswith(k)) for k in HYDRA_KEYS)


def _keys_in(value: Any) -> set[str]:
    """Every mapping key inside a parsed override value (dicts, lists and sweeps of them)."""
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _keys_in(v)}
    items = getattr(value, "list", value)  # a choice sweep holds its options in .list
    if isinstance(items, list):
        return {k for v in items for k in _keys_in(v)}
    return set()


def check_printed_config(argv: list[str]) -> None:
    """With ``--cfg`` (and no sweep), compose and validate the config Hydra is about to print, as
    ``--show-config`` does: a bad key or value is a ScenegenError naming it."""
    args = get_args_parser().parse_args(argv)
    if args.cfg is None or args.multirun:
        return
    overrides = [o for o in args.overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/", "hydra="))]
    load_config(overrides, CONFIG_SCHEMA)


def sweep_output_dir(output_dir: str, job_overrides: list[str], job_num: int) -> str:
    """A sweep job's dataset folder: ``output_dir`` suffixed by the job's number, so that the jobs of a sweep
    never write into one folder; as it is where the job's own ``output_dir`` override interpolates a value
    (``'output_dir=run/shard_${shard.index}'``), which names each job's folder itself."""
    for override in job_overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key == "output_dir" and "${" in value.replace("\\", ""):  # Hydra keeps it escaped: $\{...\}
            return output_dir
    return f"{output_dir}_{job_num}"


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def render(cfg: DictConfig) -> None:
    """Render the dataset (or shard) ``cfg`` describes."""
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        cfg.output_dir = sweep_output_dir(cfg.output_dir, list(hydra_cfg.overrides.task), hydra_cfg.job.num)
    try:
        out = render_dataset(finish_config(cfg, CONFIG_SCHEMA), progress=False)
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (a Slurm time limit, a preemption)
        print(f"scenegen: interrupted; {RESUME_HINT}", file=sys.stderr)
        sys.exit(130)
    print(f"dataset written to {out}")


def main(argv: list[str] | None = None, prog: str = "scenegen-hydra") -> int:
    """Run the Hydra app on ``argv`` (default: the command line) as the command ``prog``; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        check_hydra_arguments(args)
        check_printed_config(args)
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        return 2
    register_schemas(CONFIG_SCHEMA)
    for name in ("OpenGL.acceleratesupport", "trimesh"):  # Hydra's logging shows their INFO and DEBUG lines
        logging.getLogger(name).setLevel(logging.WARNING)
    explain = "HYDRA_FULL_ERROR" not in os.environ  # a user who asked for Hydra's own traces gets them
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra then raises instead of printing several lines
    saved, sys.argv = sys.argv, [prog, *args]
    try:
        render()
    except (HydraException, OmegaConfBaseException) as err:
        if not explain:
            raise
        print(f"scenegen: error: config: {describe_error(err)}", file=sys.stderr)
        return 2
    finally:
        sys.argv = saved
        if explain:  # not left for the caller's later commands (a test's subprocesses inherit the environment)
            del os.environ["HYDRA_FULL_ERROR"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
