"""The Serverless Framework's side of the declarations: YAML with CloudFormation short tags,
`${...}` variables, the compose order, and the framework's names for functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.account import ACCOUNT_ID

ROOT = Path(__file__).resolve().parents[1]


class TopologyError(Exception):
    """A declaration uses something this reader cannot read."""


# --- YAML with CloudFormation short tags -------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    pass


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_yaml(path: Path) -> dict[str, Any]:
    """A serverless.yml (or compose file) with `!Ref x` read as `{"Ref": "x"}`, `!GetAtt a.b` as `Fn::GetAtt`."""
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader) or {}


# --- Serverless variables -----------------------------------------------------------

_VARIABLE = re.compile(r"\$\{((?:self|sls|opt|param|aws)(?=:)|file\([^(){}]+\)):?([^{}]*)\}")


@dataclass
class Variables:
    """`${self:..}`, `${sls:stage}`, `${opt:..}`, `${param:..}`, `${aws:..}` and `${file(path):address}`,
    resolved for one stage; a file's path is relative to `directory` (the service's folder)."""

    config: dict[str, Any]
    stage: str
    region: str
    params: dict[str, Any]
    directory: Path | None = None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str):
            return value
        while True:  # innermost first, as the framework does: ${self:custom.retain.${sls:stage}, 'Retain'}
            whole = _VARIABLE.fullmatch(value)
            if whole:
                return self.resolve(self._lookup(whole.group(1), whole.group(2)))
            resolved = _VARIABLE.sub(lambda m: str(self.resolve(self._lookup(m.group(1), m.group(2)))), value)
            if resolved == value or not _VARIABLE.search(resolved):
                return resolved
            value = resolved

    def _lookup(self, source: str, address: str) -> Any:
        address, _, fallback = (part.strip() for part in address.partition(","))
        default = fallback.strip("'\"") if fallback else None
        if source.startswith("file("):
            return self._file(source[5:-1].strip(), address)
        if source == "sls" and address == "stage":
            return self.stage
        if source == "opt":
            return {"stage": self.stage, "region": self.region}.get(address, default)
        if source == "aws":
            return {"region": self.region, "accountId": ACCOUNT_ID}[address]
        if source == "param":
            if address not in self.params:
                raise TopologyError(f"unknown param {address!r}")
            return self.params[address]
        return self._address(self.config, address, default, f"${{self:{address}}} is not in serverless.yml")

    def _file(self, path: str, address: str) -> Any:
        """`${file(./x.yml)}` (the whole document, its variables resolved too) or `${file(./x.yml):a.b}`."""
        if self.directory is None:
            raise TopologyError(f"${{file({path})}}: no service folder to read it from")
        document = load_yaml(self.directory / path)
        return self._address(document, address, None, f"${{file({path}):{address}}} is not in {path}")

    @staticmethod
    def _address(node: Any, address: str, default: Any, missing: str) -> Any:
        for part in address.split(".") if address else ():
            if not isinstance(node, dict) or part not in node:
                if default is not None:
                    return default
                raise TopologyError(missing)
            node = node[part]
        return node


# --- Compose and the framework's names ------------------------------------------------


def compose_order(root: Path = ROOT) -> list[tuple[str, Path]]:
    """Services in the order compose deploys them (dependsOn first)."""
    compose = load_yaml(root / "serverless-compose.yml")["services"]
    ordered: list[str] = []

    def visit(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in trail:
            raise TopologyError(f"dependency cycle: {' -> '.join((*trail, name))}")
        if name in ordered:
            return
        for dependency in compose[name].get("dependsOn", []):
            if dependency not in compose:
                raise TopologyError(f"{name} depends on {dependency!r}, which serverless-compose.yml does not list")
            visit(dependency, (*trail, name))
        ordered.append(name)

    for name in compose:
        visit(name)
    return [(name, root / compose[name]["path"]) for name in ordered]


def function_logical_id(function: str) -> str:
    """The logical id the framework gives a function's AWS::Lambda::Function (`GetAtt` targets it)."""
    return f"{function[0].upper()}{function[1:]}LambdaFunction"


def deployed_function_name(service: str, stage: str, function: str) -> str:
    """The deployed function's name."""
    return f"{service}-{stage}-{function}"
