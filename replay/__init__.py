"""Replay events through SQS: see what sits in a DLQ, move it back, re-emit S3 events for existing objects."""
