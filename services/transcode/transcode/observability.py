"""Powertools objects, created once for the service."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

logger = Logger(service="transcode")
processor = BatchProcessor(event_type=EventType.SQS)
