"""JSON Schemas of the domain events, and the rule for changing them.

Each event's schema is committed as `shared/schemas/{event_type}.v{N}.json` (named after the event, not the
model: `VideoTranscodedV1` is `VideoTranscoded.v1.json`). A consumer
built against version N must keep reading what producers send as version N, so a
published version never changes in a way that breaks it: a change that would
(removing or retyping a field, a new required field, a new field where unknown
fields are refused) needs a new `schema_version`.

    python -m contracts.schemas shared/schemas     # write new/updated files
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts.events import EVENT_TYPES, DomainEvent
from contracts.push import StatusPush

# Messages to browsers (not domain events): `shared/schemas/push/{Model}.v{N}.json`, under the same rule.
PUSH_MESSAGES: tuple[type[BaseModel], ...] = (StatusPush,)
PUSH_FOLDER = "push"


def schema_version_of(event: type[BaseModel]) -> int:
    return int(event.model_fields["schema_version"].default)


def event_type_of(event: type[DomainEvent]) -> str:
    return str(event.model_fields["event_type"].default)


def schema_file_name(event: type[DomainEvent]) -> str:
    """`{event_type}.v{N}.json`: the models of one event's versions share its name."""
    return f"{event_type_of(event)}.v{schema_version_of(event)}.json"


def push_schema_file_name(message: type[BaseModel]) -> str:
    return f"{PUSH_FOLDER}/{message.__name__}.v{schema_version_of(message)}.json"


def generate(event: type[BaseModel]) -> dict[str, Any]:
    return event.model_json_schema(mode="serialization")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    """The set of JSON types (or referenced model names) a schema admits."""
    schema = _resolve(schema, root)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return set().union(*(_types(s, root) for s in schema[union]))
    if "const" in schema:
        return {f"const:{json.dumps(schema['const'])}"}
    if "enum" in schema:
        return {f"enum:{json.dumps(sorted(map(str, schema['enum'])))}"}
    kind = schema.get("type", "any")
    if kind == "array" and "items" in schema:
        return {f"array<{','.join(sorted(_types(schema['items'], root)))}>"}
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return {f"object<{','.join(sorted(_types(schema['additionalProperties'], root)))}>"}
    return {f"{kind}:{schema.get('format', '')}"}


def breaking_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    path: str = "",
    *,
    _roots: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> list[str]:
    """What in `new` would break a consumer that reads messages valid under `old`.

    Consumers reject unknown fields, so the producer side must stay within the old
    schema, and the consumer side must still accept everything the old one did.
    """
    old_root, new_root = _roots or (old, new)
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        old_types, new_types = _types(old_prop, old_root), _types(new_prop := new_props[name], new_root)
        if old_types != new_types:
            problems.append(f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}")
        old_inner, new_inner = _resolve(old_prop, old_root), _resolve(new_prop, new_root)
        if "items" in old_inner and "items" in new_inner:
            old_inner, new_inner = old_inner["items"], new_inner["items"]
        problems += breaking_changes(old_inner, new_inner, f"{where}.", _roots=(old_root, new_root))
    for name in set(new_props) - set(old_props):
        problems.append(f"{path}{name}: added (consumers of this version refuse unknown fields)")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        if name in old_props:
            problems.append(f"{path}{name}: became required")
    return problems


def write(folder: Path) -> list[str]:
    """Write each event's schema; refuse to rewrite a published version incompatibly."""
    messages = []
    (folder / PUSH_FOLDER).mkdir(parents=True, exist_ok=True)
    named = [(schema_file_name(e), e) for e in EVENT_TYPES] + [(push_schema_file_name(m), m) for m in PUSH_MESSAGES]
    for name, event in named:
        target = folder / name
        schema = generate(event)
        if target.exists():
            problems = breaking_changes(json.loads(target.read_text()), schema)
            if problems:
                raise SystemExit(
                    f"{target.name}: this change breaks consumers of version {schema_version_of(event)}:\n  - "
                    + "\n  - ".join(problems)
                    + "\nBump schema_version on the model to publish it as a new version."
                )
        text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            messages.append(f"wrote {target}")
    return messages


if __name__ == "__main__":
    for line in write(Path(sys.argv[1] if len(sys.argv) > 1 else "shared/schemas")) or ["schemas up to date"]:
        print(line)
