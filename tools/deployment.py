"""A deployed stage's description, from its CloudFormation stacks' outputs: `python -m tools.deployment --stage dev`.

It prints (or writes, with --out) the JSON that the e2e smoke tests read (infra/deployment.py): the HTTP APIs,
the WebSocket and the website's URLs, the issuer, and the buckets, tables and queues. It needs AWS credentials
allowed cloudformation:DescribeStacks on the `video24-*-<stage>` stacks, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError

from infra import load
from infra.deployment import DeploymentError, from_outputs


def stack_outputs(cloudformation: Any) -> Any:
    """A stack's name -> its outputs, read once per stack; a stack that is not there has none."""
    cache: dict[str, dict[str, str]] = {}

    def outputs(stack: str) -> dict[str, str]:
        if stack not in cache:
            try:
                [found] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
            except cloudformation.exceptions.ClientError as error:
                if "does not exist" not in str(error):
                    raise
                raise DeploymentError(f"no stack {stack}: deploy it first (serverless deploy --stage ...)") from None
            cache[stack] = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
        return cache[stack]

    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deployment", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", help="default: the AWS configuration's (AWS_REGION)")
    parser.add_argument("--out", type=Path, help="write the description here instead of printing it")
    args = parser.parse_args(argv)
    import boto3

    session = boto3.session.Session(region_name=args.region or os.environ.get("AWS_REGION") or None)
    if not session.region_name:
        print("error: no region: pass --region or set AWS_REGION", file=sys.stderr)
        return 2
    try:
        deployment = from_outputs(
            load(args.stage), session.region_name, stack_outputs(session.client("cloudformation"))
        )
    except DeploymentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:  # no credentials, no network: said, not a stack trace
        print(f"error: cannot read the {args.stage} stacks from CloudFormation: {error}", file=sys.stderr)
        return 1
    text = json.dumps(deployment.to_json(), indent=2) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"==> {args.stage}'s description in {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
