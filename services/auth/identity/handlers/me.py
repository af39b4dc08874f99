"""GET /me and PUT /me: the caller's verified claims and the display name they chose."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from contracts.api import Profile, UpdateProfile
from lambdakit.http import Caller, api, body_as, json_response


@cache
def _profiles() -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(os.environ["PROFILES_TABLE"])


def _profile(caller: Caller, display_name: str | None) -> Profile:
    return Profile(sub=caller.sub, email=caller.email, username=caller.username, display_name=display_name)


@api
def get_handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    item = _profiles().get_item(Key={"sub": caller.sub}).get("Item") or {}
    return json_response(200, _profile(caller, item.get("display_name")))


@api
def put_handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    update = body_as(event, UpdateProfile)
    name = update.display_name.strip()
    _profiles().put_item(Item={"sub": caller.sub, "display_name": name})
    return json_response(200, _profile(caller, name))
