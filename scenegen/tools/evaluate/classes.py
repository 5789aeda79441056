"""Matching the target's classes to the synthetic ones: by name, or through ``--map TARGET=SYNTHETIC``."""

from __future__ import annotations

from dataclasses import dataclass

from scenegen.errors import ConfigError, DatasetError, shown


@dataclass(frozen=True)
class ClassMatch:
    """The probe's classes (synthetic names, in the synthetic dataset's order) and where each side's come from."""

    classes: list[str]  # the probe's label space: synthetic classes some target class maps to
    target_to_probe: dict[int, int]  # target class index -> probe label, for the matched target classes
    synthetic_to_probe: dict[int, int]  # synthetic class index -> probe label
    mapping: dict[str, str]  # target name -> synthetic name, for every matched target class
    unmatched: list[str]  # target classes with no synthetic counterpart: left out
    synthetic_only: list[str]  # synthetic classes no target class maps to: not trained on


def parse_map(pairs: list[str]) -> dict[str, str]:
    """``["cup=mug", "sports ball=ball"]`` -> ``{"cup": "mug", "sports ball": "ball"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, synthetic = pair.partition("=")
        if not sep or not target.strip() or not synthetic.strip():
            raise ConfigError(f"--map {shown(pair)}: expected TARGET_CLASS=SYNTHETIC_CLASS, e.g. --map cup=mug")
        if target.strip() in mapping:
            raise ConfigError(f"--map {shown(pair)}: {shown(target.strip())} is mapped twice")
        mapping[target.strip()] = synthetic.strip()
    return mapping


def match_classes(target: list[str], synthetic: list[str], mapping: dict[str, str]) -> ClassMatch:
    """Match ``target`` class names to ``synthetic`` ones: a name in ``mapping`` goes to its value, any other to
    the synthetic class of the same name; a mapping naming a class that does not exist is an error."""
    for name, onto in mapping.items():
        if name not in target:
            raise ConfigError(f"--map {name}={onto}: the target has no class {shown(name)} (it has {shown(target)})")
        if onto not in synthetic:
            raise ConfigError(f"--map {name}={onto}: the synthetic dataset has no class {shown(onto)}")
    named = {name: mapping.get(name, name) for name in target}
    matched = {name: onto for name, onto in named.items() if onto in synthetic}
    classes = [name for name in synthetic if name in matched.values()]
    if not classes:
        raise DatasetError(
            f"no class in common: the target has {shown(target)}, the synthetic dataset {shown(synthetic)}; "
            "match names with --map TARGET=SYNTHETIC"
        )
    label = {name: i for i, name in enumerate(classes)}
    return ClassMatch(
        classes=classes,
        target_to_probe={i: label[matched[name]] for i, name in enumerate(target) if name in matched},
        synthetic_to_probe={i: label[name] for i, name in enumerate(synthetic) if name in label},
        mapping=matched,
        unmatched=[name for name in target if name not in matched],
        synthetic_only=[name for name in synthetic if name not in label],
    )
