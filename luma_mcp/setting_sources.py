"""Where a setting's value comes from: a command-line flag, else an environment variable, else its
default. Generic over the settings model (`config.Settings` declares each setting once, with its
variable and flag in the field's extra data); this module reads them and explains a refusal."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, cast

from pydantic import BaseModel, Field, ValidationError


def setting(default: Any, *, env: str, flag: str | None, doc: str, **constraints: Any) -> Any:
    """A settings field: its default, the variable and flag that set it, and its documentation."""
    extra: dict[str, Any] = {"env": env, "flag": flag}
    return Field(default, description=doc, json_schema_extra=extra, **constraints)


class SettingSource(NamedTuple):  # not a dataclass: making one costs ~0.8 ms at every start-up
    """How one setting is given: its field name, environment variable, flag and documentation."""

    name: str
    env: str
    flag: str | None
    doc: str


def sources_of(model: type[BaseModel]) -> Iterator[SettingSource]:
    """Each setting of `model` (fields made with `setting`)."""
    for name, field in model.model_fields.items():
        extra = cast("dict[str, str | None]", field.json_schema_extra)
        yield SettingSource(name, str(extra["env"]), extra["flag"], field.description or "")


def given_values(
    model: type[BaseModel], flags: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values given for `model`'s settings (a flag wins over the environment; an empty variable
    counts as not given), and for each the flag or variable it came from."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source in sources_of(model):
        if flags.get(source.name) is not None:
            values[source.name], origin[source.name] = flags[source.name], source.flag or source.name
        elif environ.get(source.env, "") != "":
            values[source.name], origin[source.name] = environ[source.env], source.env
    return values, origin


def problems(exc: ValidationError, shown: Mapping[str, str], origin: Mapping[str, str]) -> list[str]:
    """Each refusal in `exc` as `<flag or variable>=<value as shown>: <why>`; a rule across settings
    as its message alone. `shown` holds each given value as it may be shown (secrets hidden)."""
    found: list[str] = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings
            found.append(message)
            continue
        name = str(error["loc"][0])
        found.append(f"{origin.get(name, name)}={shown.get(name, 'None')}: {message}")
    return found
