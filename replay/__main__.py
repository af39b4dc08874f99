"""python -m replay {peek,redrive,reemit,rerun}: replay events through SQS, rerun a failed video's workflow.

(make replay ARGS="...")

Works against the local stack (`make up`: AWS_ENDPOINT_URL=http://127.0.0.1:4566, which needs no
credentials: a loopback endpoint gets the local stack's) and AWS alike; queue names come from the
services' serverless.yml for --stage. Dry run unless --yes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra import load
from replay.core import (
    ReplayError,
    consumer_log_groups,
    count,
    failure_records,
    peek,
    redrive,
    reemit,
    rerun,
    resolve_queue,
    state_machine_arn,
)
from replay.session import session_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stage", default=os.environ.get("STAGE", "dev"), help="deployed stage (default: $STAGE or dev)"
    )
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"), help="e.g. the local stack's")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    commands = parser.add_subparsers(dest="command", required=True)
    peek_cmd = commands.add_parser(
        "peek", help="list what sits in a DLQ, without consuming it (each look counts as a receive)"
    )
    peek_cmd.add_argument("queue", help="queue name or unique suffix, e.g. transcode-dlq")
    peek_cmd.add_argument("--limit", type=int, default=100)
    redrive_cmd = commands.add_parser("redrive", help="move a DLQ's messages back to its source queue")
    redrive_cmd.add_argument("queue", help="the DLQ (or its source queue)")
    redrive_cmd.add_argument("--rate", type=float, default=50.0, help="messages per second at most (default 50)")
    redrive_cmd.add_argument("--yes", action="store_true", help="act (default: say what would happen)")
    reemit_cmd = commands.add_parser("reemit", help="send S3 ObjectCreated events for existing objects to a queue")
    reemit_cmd.add_argument("--bucket", required=True)
    reemit_cmd.add_argument("--prefix", default="uploads/")
    reemit_cmd.add_argument(
        "--to", required=True, dest="queue", help="the consumer's queue, e.g. metadata-local-uploads"
    )
    reemit_cmd.add_argument("--yes", action="store_true", help="act (default: count what would be sent)")
    rerun_cmd = commands.add_parser(
        "rerun", help="run a failed video's transcode workflow again, doing only the missing work"
    )
    rerun_cmd.add_argument("video_id")
    rerun_cmd.add_argument("--yes", action="store_true", help="act (default: say what would happen)")
    args = parser.parse_args(argv)

    session = session_for(args.endpoint, args.region)
    sqs = session.client("sqs", endpoint_url=args.endpoint)
    try:
        topology = load(args.stage)
        if args.command == "rerun":
            sfn = session.client("stepfunctions", endpoint_url=args.endpoint)
            [machine] = [m for m in topology.state_machines if m.name.endswith("-workflow")]
            done = rerun(sfn, state_machine_arn(sfn, machine.name), args.video_id, act=args.yes)
            if not args.yes:
                print(f"{done.execution} failed: would redrive it, or start a new execution with its input (add --yes)")
            elif done.started:
                print(f"{done.execution} failed; redrive is not offered here: started {done.started} with its input")
            else:
                print(f"{done.execution} redriven: its failed states run again")
            return 0
        pair = resolve_queue(topology, args.queue)
        if args.command == "peek":
            messages = list(peek(sqs, pair.named, limit=args.limit))
            failures = {}
            if messages and pair.dead_letter == pair.named:  # a DLQ: its consumers' logs say why
                logs = session.client("logs", endpoint_url=args.endpoint)
                since = min(m["sent_ms"] for m in messages)
                failures = failure_records(logs, consumer_log_groups(topology, pair.source), since_ms=since)
            for message in messages:
                shown = {name: value for name, value in message.items() if name != "sent_ms"}
                print(json.dumps(shown | {"failure": failures.get(message["message_id"])}))
            print(f"{len(messages)} message(s) in {pair.named}", file=sys.stderr)
        elif args.command == "redrive":
            if not pair.dead_letter:
                raise ReplayError(f"{pair.source} has no DLQ")
            waiting = count(sqs, pair.dead_letter)
            if not args.yes:
                print(f"would move {waiting} message(s) from {pair.dead_letter} to {pair.source} (add --yes)")
                return 0

            def progress(moved: int) -> None:
                print(f"\rmoved {moved}/{waiting}", end="", file=sys.stderr, flush=True)

            # One attempt only: an endpoint without StartMessageMoveTask answers with an error, not a retry.
            mover = session.client("sqs", endpoint_url=args.endpoint, config=Config(retries={"total_max_attempts": 1}))
            moved = redrive(
                sqs,
                pair.dead_letter,
                pair.source,
                rate=args.rate,
                progress=progress,
                mover=mover,
                notice=lambda text: print(text, file=sys.stderr),
            )
            print(f"\nmoved {moved} message(s) from {pair.dead_letter} to {pair.source}")
        else:
            s3 = session.client("s3", endpoint_url=args.endpoint)
            sent = reemit(sqs, s3, args.bucket, args.prefix, pair.source, session.region_name, send=args.yes)
            verb = "sent" if args.yes else "would send (add --yes)"
            print(f"{verb} {sent} ObjectCreated event(s) for s3://{args.bucket}/{args.prefix} to {pair.source}")
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"error: AWS said: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
