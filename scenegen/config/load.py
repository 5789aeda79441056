"""Load a config: compose ``conf/`` with Hydra overrides, validate every bound, return dataclasses.

Every problem is a ConfigError with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterator
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from scenegen.config.fields import INF
from scenegen.config.schema import Config, register_schemas
from scenegen.errors import ConfigError, shown
from scenegen.paths import conf_dir


def load_config(overrides: list[str], schema: type[Config] = Config) -> Config:
    """Compose ``conf/config.yaml`` with Hydra ``overrides``, validate it against ``schema`` (``Config``, or
    the run's, with its outputs' own keys: ``outputs.registry.CONFIG_SCHEMA``), return it as dataclasses.

    Raises ConfigError with a one-line message naming the key on any problem.
    """
    register_schemas(schema)
    cfg: Config = compose_config("config", schema, overrides)
    return cfg


def compose_config(config_name: str, schema: type, overrides: list[str]) -> Any:
    """Compose ``conf/<config_name>.yaml`` (whose defaults start with ``schema``'s registered node) with
    Hydra ``overrides``; validate it against ``schema`` and return it as ``schema`` dataclasses."""
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(f"config: {describe_error(err)}") from None
    return finish_config(cfg, schema)


def finish_config(cfg: DictConfig, schema: type = Config) -> Any:
    """Validate a composed config against ``schema``; return it as dataclasses, interpolations resolved."""
    validate(cfg, schema)
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"config: {describe_error(err)}") from None


def validate(cfg: DictConfig, schema: type = Config, prefix: str = "") -> None:
    """Check every number is finite and every ``span`` and ``bounds`` of ``schema`` in ``cfg``; raise
    ScenegenError naming the key."""
    if not prefix:
        _check_finite(OmegaConf.to_container(cfg, resolve=False))
    _check_schema(cfg, schema, prefix)


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of nested dicts and lists (a list's items under the list's key)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, key)
    else:
        yield key, value


def _check_finite(value: Any) -> None:
    """No key of scenegen's configs takes an infinite or NaN number."""
    for key, leaf in _leaves(value):
        if isinstance(leaf, float) and not math.isfinite(leaf):
            raise ConfigError(f"config: {key} = {leaf} must be a finite number")


def _check_schema(cfg: DictConfig, schema: type, prefix: str) -> None:
    types = typing.get_type_hints(schema)
    if "_target_" in cfg:
        raise ConfigError(f"config: {prefix}_target_: scenegen never instantiates objects named in its config")
    unknown = set(cfg.keys()) - set(types)
    if unknown:
        raise ConfigError(f"config: {prefix}{sorted(map(str, unknown))[0]}: unknown key")
    for f in dataclasses.fields(schema):
        key = f"{prefix}{f.name}"
        value = cfg[f.name]
        if dataclasses.is_dataclass(types[f.name]):
            _check_schema(value, types[f.name], f"{key}.")
        elif "span" in f.metadata:
            _check_span(key, list(value), *f.metadata["span"])
        elif "bounds" in f.metadata:
            _check_bounds(key, value, *f.metadata["bounds"])


def _check_span(key: str, value: list[float], lo: float, hi: float) -> None:
    if len(value) != 2:
        raise ConfigError(f"config: {key} must be [min, max], got {value}")
    if value[0] > value[1]:
        raise ConfigError(f"config: {key} has min {value[0]} > max {value[1]}")
    for v in value:
        _check_bounds(key, v, lo, hi)


def _check_bounds(key: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        allowed = f">= {lo}" if hi == INF else f"in [{lo}, {hi}]"
        raise ConfigError(f"config: {key} = {value} must be {allowed}")


def describe_error(err: BaseException) -> str:
    """One line for a Hydra or OmegaConf error: the key and the problem, found along the cause chain."""
    first_line = str(err).strip().split("\n")[0]
    cause = err.__cause__
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        return f"{cause.full_key}: {str(cause).strip().splitlines()[0]}"
    return first_line or type(err).__name__


def config_from_data(data: Any, schema: type[Config] = Config) -> Config:
    """A config stored as plain data (``to_container``'s, in ``dataset.json``), validated against ``schema`` as
    a composed one is; ScenegenError naming the key. Interpolations (``${...}``) are refused: stored configs
    are resolved."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: {shown(data)} is not a mapping of keys")
    _refuse_interpolations(data)
    try:
        merged = typing.cast(DictConfig, OmegaConf.merge(OmegaConf.structured(schema), data))
        cfg: Config = finish_config(merged, schema)
        return cfg
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or getattr(err.__cause__, "full_key", None)
        raise ConfigError(f"config: {key + ': ' if key else ''}{str(err).strip().splitlines()[0]}") from None


def _refuse_interpolations(value: Any) -> None:
    for key, leaf in _leaves(value):
        if isinstance(leaf, str) and "${" in leaf:
            raise ConfigError(f"config: {key}: {leaf[:60]!r} is an interpolation; a stored config holds values")


def to_container(cfg: Config) -> dict[str, Any]:
    """The config as plain data, for dataset.json."""
    return dataclasses.asdict(cfg)


def to_yaml(cfg: Config) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))
