"""Powertools objects, created once for the service."""

from aws_lambda_powertools import Logger

logger = Logger(service="notify")
