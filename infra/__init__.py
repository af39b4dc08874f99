"""The deployment model: the services' declarations (serverless-compose.yml, services/*/serverless.yml)
read into a `Topology`, as the framework and CloudFormation would resolve them for a stage.

Import the model from here: `from infra import load, Topology, ...`. Two tools act on it:
`infra.provision` (create it on an AWS endpoint) and `infra.event_source` (what Lambda
does with a declared `sqs` event). The local stack (devstack), the replay tool and the
tests share this package; it emulates nothing.
"""

from infra.account import (
    ACCOUNT_ID,
    LOCAL_CREDENTIALS,
    REGION,
    function_arn,
    local_session,
    queue_arn,
    queue_url,
    state_machine_arn,
    topic_arn,
)
from infra.serverless import ROOT, TopologyError, compose_order, load_yaml
from infra.topology import (
    Bucket,
    Cors,
    Function,
    Invocable,
    Queue,
    Route,
    Service,
    Site,
    StateMachine,
    Subscription,
    Topology,
    WebSocketApi,
    WebSocketRoute,
    load,
)

__all__ = [
    "ACCOUNT_ID",
    "LOCAL_CREDENTIALS",
    "REGION",
    "ROOT",
    "Bucket",
    "Cors",
    "Function",
    "Invocable",
    "Queue",
    "Route",
    "Service",
    "Site",
    "StateMachine",
    "Subscription",
    "Topology",
    "TopologyError",
    "WebSocketApi",
    "WebSocketRoute",
    "compose_order",
    "function_arn",
    "load",
    "load_yaml",
    "local_session",
    "queue_arn",
    "queue_url",
    "state_machine_arn",
    "topic_arn",
]
