"""Powertools objects, created once for the service."""

from aws_lambda_powertools import Logger

from lambdakit.metrics import EmfMeter

SERVICE = "notify"
logger = Logger(service=SERVICE)
meter = EmfMeter(SERVICE)  # the service's metrics (lambdakit.metrics), as EMF lines in its logs
