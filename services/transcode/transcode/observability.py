"""Powertools objects, created once for the service."""

from aws_lambda_powertools import Logger, Tracer

from lambdakit.metrics import EmfMeter

SERVICE = "transcode"
logger = Logger(service=SERVICE)
meter = EmfMeter(SERVICE)  # the service's metrics (lambdakit.metrics), as EMF lines in its logs
# X-Ray subsegments of each media task and its AWS calls. Off outside Lambda (no LAMBDA_TASK_ROOT: the local
# stack, tests), where no X-Ray daemon listens; POWERTOOLS_TRACE_DISABLED=true turns it off anywhere.
tracer = Tracer(service=SERVICE)
