"""``scenegen-hydra``: ``scenegen render`` as a Hydra application, for Hydra's multirun and launchers.

    scenegen-hydra -m num_scenes=1000 shard.count=4 'shard.index=range(4)' 'output_dir=run/shard_${shard.index}'
    scenegen-hydra -m hydra/launcher=submitit_slurm ...     # with hydra-submitit-launcher installed

Each job renders one shard; ``scenegen merge`` assembles them. Hydra writes its own logs under
``outputs/`` or ``multirun/``; the dataset goes to ``output_dir`` as with ``scenegen render``.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from scenegen.config.load import finish_config
from scenegen.config.schema import register_schemas
from scenegen.errors import ScenegenError
from scenegen.paths import conf_dir
from scenegen.pipeline.run import render_dataset


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def render(cfg: DictConfig) -> None:
    """Render the dataset (or shard) ``cfg`` describes."""
    try:
        out = render_dataset(finish_config(cfg), progress=False)
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"dataset written to {out}")


def main() -> None:
    register_schemas()
    render()


if __name__ == "__main__":
    main()
