"""Powertools objects, created once for the service."""

from aws_lambda_powertools import Logger

from lambdakit.failures import RecordingBatchProcessor

logger = Logger(service="transcode")
processor = RecordingBatchProcessor(logger)
