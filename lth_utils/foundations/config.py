"""One frozen dataclass per experiment drives the CLI flags, the validation and the run-store hash.

    parser = argparse.ArgumentParser(); add_arguments(parser, IMPConfig)
    cfg = from_namespace(IMPConfig, parser.parse_args())
    config_hash(cfg)   # the run's identity: every result-affecting field, and the class's SCHEMA version

Field metadata: `help` (the flag's help text) and `hash`, which says how a field enters the identity:
- True (the default): always, with its value, so changing a default later can never reuse an old folder;
- False: never, for fields that do not change results (where to write, how many workers, how many trials or levels
  to run: runs extend in place);
- "if_changed": only when it differs from its default; for fields added after stores were committed, so that adding
  a field whose default reproduces the old behaviour keeps those stores valid;
- a function: its value's image (`device` enters as its type, cpu or cuda, not as the card's index).
A config class may set `SCHEMA` (an int, default 1): bumped by hand whenever code changes what a stored result
means (a fix in pruning, training or evaluation), so that every older folder stops matching.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """An invalid hyperparameter: the message names the parameter, the value and what is allowed."""

    def __init__(self, parameter: str, value: Any, allowed: str):
        self.parameter, self.value, self.allowed = parameter, value, allowed
        super().__init__(f"{parameter}={value!r} is invalid: {allowed}")


def whole_in(value: Any, low: int, high: int) -> bool:
    """Whether `value` is an int (not a bool) in [low, high]: the check behind the notebooks' integer knobs."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _field_types(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional_inner(tp) -> type | None:
    """float for `float | None`, else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return None


def coerce(cls, name: str, value: Any) -> Any:
    """Convert a plain value (a CLI string, a notebook literal) to the field's type, or raise ConfigError."""
    tp = _field_types(cls)[name]
    inner = _optional_inner(tp)
    if inner is not None:
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        tp = inner
    try:
        if tp is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                return value.lower() in ("true", "1")
            return bool(value)
        if tp is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return tp(value)
    except (TypeError, ValueError):
        raise ConfigError(name, value, f"expected {getattr(tp, '__name__', tp)}") from None


def add_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One `--flag-name` per dataclass field, with the field's default and help text."""
    for f in dataclasses.fields(cls):
        default = f.default
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, default=default, metavar="VALUE",
                            help=f"{f.metadata.get('help', '')} (default: {default})")


def from_namespace(cls, namespace: argparse.Namespace):
    values = {f.name: coerce(cls, f.name, getattr(namespace, f.name)) for f in dataclasses.fields(cls)}
    return cls(**values)


def from_values(cls, **values):
    """Build a config from plain values (as a notebook's parameters cell holds), rejecting unknown names."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(unknown[0], values[unknown[0]], f"unknown parameter; known: {', '.join(sorted(known))}")
    return cls(**{k: coerce(cls, k, v) for k, v in values.items()})


def to_dict(cfg) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def hashed_fields(cfg) -> dict[str, Any]:
    """The fields that make up the run's identity, with the values they enter it with (see the module docstring)."""
    fields = {}
    for f in dataclasses.fields(cfg):
        rule, value = f.metadata.get("hash", True), getattr(cfg, f.name)
        if rule is False or (rule == "if_changed" and value == f.default):
            continue
        fields[f.name] = rule(value) if callable(rule) else value
    return fields


def identity(cfg) -> dict[str, Any]:
    return {"class": type(cfg).__name__, "schema": getattr(type(cfg), "SCHEMA", 1), **hashed_fields(cfg)}


def config_hash(cfg) -> str:
    payload = json.dumps(identity(cfg), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:10]
