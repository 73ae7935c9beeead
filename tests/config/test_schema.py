"""emovec.config.schema: every numeric field declares its range, and every default lies in it."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from emovec.config import schema
from emovec.config.ranges import Range
from emovec.config.schema import CellConfig


def _numeric_fields(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field, str]]:
    """(dotted key, field, its annotation) for every int/float/list-of-number field under ``cls``."""
    hints = typing.get_type_hints(cls, vars(schema))
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        inner = args[0] if typing.get_origin(hint) is typing.Union and len(args) == 1 else hint
        if dataclasses.is_dataclass(inner):
            out += _numeric_fields(inner, f"{prefix}{f.name}.")
        elif typing.get_origin(inner) is list and dataclasses.is_dataclass(typing.get_args(inner)[0]):
            out += _numeric_fields(typing.get_args(inner)[0], f"{prefix}{f.name}[].")
        elif inner in (int, float) or (typing.get_origin(inner) is list and typing.get_args(inner)[0] in (int, float)):
            out.append((f"{prefix}{f.name}", f, str(hint)))
    return out


def test_every_numeric_config_field_declares_its_range():
    fields = _numeric_fields(CellConfig)
    assert len(fields) >= 50  # the walk reaches the nested configs (model.toy, steering.classifiers[], ...)
    undeclared = [key for key, f, _ in fields if not isinstance(f.metadata.get("range"), Range)]
    assert undeclared == []


def test_every_default_lies_in_its_declared_range():
    def check(node: object, prefix: str = "") -> None:
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if dataclasses.is_dataclass(value):
                check(value, f"{prefix}{f.name}.")
            allowed = f.metadata.get("range")
            if allowed is not None and value is not None and value != "???":
                for x in value if isinstance(value, list) else [value]:
                    assert allowed.contains(float(x)), f"{prefix}{f.name}={x!r} outside {allowed}"

    check(CellConfig(model=schema.ModelConfig(toy=schema.ToyTrainConfig()),
                     steering=schema.SteeringConfig()))


def test_a_missing_config_slice_is_one_line_naming_it(tmp_path):
    from emovec.config.schema import ModelConfig, load_yaml_dataclass
    from emovec.errors import EmovecInputError

    missing = tmp_path / "models" / "m.yaml"
    with pytest.raises(EmovecInputError, match=r"m.yaml is missing: the compose stage writes it"):
        load_yaml_dataclass(missing, ModelConfig)
