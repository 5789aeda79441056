"""``scenegen render`` as a Hydra application: Hydra's own flags, multirun and launchers.

    scenegen render --cfg job                                # the composed config (also --info, --hydra-help)
    scenegen render -m num_scenes=1000 shard.count=4 'shard.index=range(4)' 'output_dir=run/shard_${shard.index}'
    scenegen render -m hydra/launcher=submitit_slurm ...     # with hydra-submitit-launcher installed
    scenegen-hydra ...                                       # the same, as a command of its own

``scenegen render`` hands its arguments to this app when they hold one of Hydra's flags or a ``hydra``
override (``wants_hydra``). Each job renders one dataset or shard; ``scenegen merge`` assembles shards.
Hydra writes its own logs under ``outputs/`` or ``multirun/`` (the app is named ``scenegen`` there); the
dataset goes to ``output_dir``. A bad key or value stops it with one line, ``scenegen: error: ...``, exit 2,
as with ``scenegen render``.
"""

from __future__ import annotations

import logging
import os
import sys

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from scenegen.config.load import describe_error, finish_config
from scenegen.config.schema import register_schemas
from scenegen.errors import ScenegenError
from scenegen.paths import conf_dir
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


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def render(cfg: DictConfig) -> None:
    """Render the dataset (or shard) ``cfg`` describes."""
    try:
        out = render_dataset(finish_config(cfg), progress=False)
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"dataset written to {out}")


def main(argv: list[str] | None = None, prog: str = "scenegen-hydra") -> int:
    """Run the Hydra app on ``argv`` (default: the command line) as the command ``prog``; return the exit code."""
    register_schemas()
    logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)  # Hydra logs INFO: keep it quiet
    explain = "HYDRA_FULL_ERROR" not in os.environ  # a user who asked for Hydra's own traces gets them
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra then raises instead of printing several lines
    saved, sys.argv = sys.argv, [prog, *(sys.argv[1:] if argv is None else argv)]
    try:
        render()
    except (HydraException, OmegaConfBaseException) as err:
        if not explain:
            raise
        print(f"scenegen: error: config: {describe_error(err)}", file=sys.stderr)
        return 2
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
