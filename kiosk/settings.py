"""One way to read settings, for the kiosk and the district server: a TOML file found by
``--config``, an environment variable or a system path, ``--set`` overrides, a pydantic model.

Every mistake names the file, the dotted key and what was expected (for an unknown key,
the keys that exist there), because an admin fixes it in a text editor over SSH, often
far from the person who wrote the file. Standard library and pydantic only: the server
reads its settings through here without any of the kiosk's hardware libraries.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(Exception):
    """A configuration problem an admin must fix; the message says where and how."""


def find_config_file(explicit: str | Path | None, env_var: str, system_path: Path) -> Path | None:
    """The file to read, or None for built-in defaults. Named files must exist."""
    for origin, candidate in (("--config", explicit), (f"${env_var}", os.environ.get(env_var))):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise ConfigError(f"{path}: config file not found (given by {origin})")
            return path
    return system_path if system_path.is_file() else None


def read_toml(source: Path | None) -> dict[str, Any]:
    if source is None:
        return {}
    try:
        with source.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None


def parse_override(item: str) -> tuple[list[str], Any]:
    """``section.key=value``; the value is read as TOML when it parses, else as a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. storage.data_dir=/tmp/k1")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return [part.strip() for part in key.split(".")], value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item}: {'.'.join(path)}: {part} is not a section")
            node = child
        node[path[-1]] = value
    return data


def describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    """One problem as ``dotted.key: what is wrong`` (with the known keys for an unknown one)."""
    loc = [str(p) for p in error["loc"]]
    key = ".".join(loc)
    if error["type"] == "extra_forbidden":
        parent: Any = model
        for part in loc[:-1]:
            field = parent.model_fields.get(part) if isinstance(parent, type) and issubclass(parent, BaseModel) else None
            parent = field.annotation if field else None
        known = sorted(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        hint = f" (known keys here: {', '.join(known)})" if known else ""
        return f"{key}: unknown key{hint}"
    got = error.get("input")
    shown = "" if isinstance(got, dict) else f", got {got!r}"
    return f"{key}: {error['msg'].lower()}{shown}"


def validate(model: type[Model], data: dict[str, Any], source: Path | None) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = str(source) if source else "built-in defaults with --set"
        problems = "\n".join(f"  {describe(e, model)}" for e in exc.errors())
        raise ConfigError(f"{where}: invalid configuration:\n{problems}") from None


def load(
    model: type[Model], explicit: str | Path | None, env_var: str, system_path: Path, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[Model, Path | None]:
    """The validated settings and the file they came from (None: built-in defaults)."""
    source = find_config_file(explicit, env_var, system_path)
    return validate(model, apply_overrides(read_toml(source), overrides), source), source
