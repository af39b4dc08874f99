'use strict';

// The alarms and the dashboard of one service, as CloudFormation resources, from its compiled template.
// Pure: a template in, resources out (index.js adds them at package time; tests run this file on templates:
// `node operations.js < {"template": ..., "options": ...}` prints the resources).

const ALARM_TOPIC = 'AlarmTopic';
const FIVE_MINUTES = 300;
const DURATION_SHARE = 0.8; // of the function's timeout: the duration alarm's threshold
const ERROR_RATE_PERCENT = 5; // of a request-driven function's invocations, of an API's requests

function alarm(properties) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      ...properties,
      AlarmActions: [{ Ref: ALARM_TOPIC }],
      OKActions: [{ Ref: ALARM_TOPIC }],
    },
  };
}

function stat(id, namespace, metricName, dimensions, statistic = 'Sum') {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensions },
      Period: FIVE_MINUTES,
      Stat: statistic,
    },
    ReturnData: false,
  };
}

function expression(id, text, label) {
  return { Id: id, Expression: text, Label: label, ReturnData: true };
}

function functionAlarms(template, logicalId, spec, prefix) {
  const timeout = Number(template.Resources[logicalId].Properties.Timeout || 6);
  const dimensions = [{ Name: 'FunctionName', Value: { Ref: logicalId } }];
  const name = `${prefix}-${spec.name}`;
  const errors = spec.requestDriven
    ? {
        AlarmName: `${name}-error-rate`,
        AlarmDescription: `More than ${ERROR_RATE_PERCENT} % of ${spec.name}'s invocations failed in 5 minutes (people see 500s or are refused): its log group says why.`,
        Metrics: [
          stat('errors', 'AWS/Lambda', 'Errors', dimensions),
          stat('invocations', 'AWS/Lambda', 'Invocations', dimensions),
          expression('rate', '100 * FILL(errors, 0) / invocations', 'errors (% of invocations)'),
        ],
        Threshold: ERROR_RATE_PERCENT,
      }
    : {
        AlarmName: `${name}-errors`,
        AlarmDescription: `${spec.name} failed (raised, ran out of time or memory) in the last 5 minutes; its messages are retried and then reach the DLQ: its log group says why.`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: dimensions,
        Statistic: 'Sum',
        Period: FIVE_MINUTES,
        Threshold: 0,
      };
  return {
    [`${logicalId}ErrorsAlarm`]: alarm(errors),
    [`${logicalId}ThrottlesAlarm`]: alarm({
      AlarmName: `${name}-throttles`,
      AlarmDescription: `Lambda refused to run ${spec.name} (concurrency limit) in the last 5 minutes: raise the account's or the function's concurrency, or lower the event source's maximumConcurrency.`,
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: FIVE_MINUTES,
      Threshold: 0,
    }),
    [`${logicalId}DurationAlarm`]: alarm({
      AlarmName: `${name}-duration-near-timeout`,
      AlarmDescription: `An invocation of ${spec.name} ran longer than ${DURATION_SHARE * 100} % of its ${timeout} s timeout: it is about to time out.`,
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Dimensions: dimensions,
      Statistic: 'Maximum',
      Period: FIVE_MINUTES,
      Threshold: Math.round(timeout * 1000 * DURATION_SHARE),
    }),
  };
}

function apiAlarm(template, logicalId, prefix) {
  const dimensions = [{ Name: 'ApiId', Value: { Ref: logicalId } }];
  const websocket = template.Resources[logicalId].Properties.ProtocolType === 'WEBSOCKET';
  const metrics = websocket
    ? [
        stat('executionErrors', 'AWS/ApiGateway', 'ExecutionError', dimensions),
        stat('integrationErrors', 'AWS/ApiGateway', 'IntegrationError', dimensions),
        stat('connects', 'AWS/ApiGateway', 'ConnectCount', dimensions),
        stat('messages', 'AWS/ApiGateway', 'MessageCount', dimensions),
        expression(
          'rate',
          '100 * (FILL(executionErrors, 0) + FILL(integrationErrors, 0)) / (FILL(connects, 0) + FILL(messages, 0))',
          'errors (% of connects and messages)'
        ),
      ]
    : [
        stat('errors', 'AWS/ApiGateway', '5xx', dimensions),
        stat('requests', 'AWS/ApiGateway', 'Count', dimensions),
        expression('rate', '100 * FILL(errors, 0) / requests', '5xx (% of requests)'),
      ];
  return {
    [`${logicalId}ServerErrorsAlarm`]: alarm({
      AlarmName: `${prefix}-${websocket ? 'websocket' : 'http-api'}-server-errors`,
      AlarmDescription: `More than ${ERROR_RATE_PERCENT} % of the ${websocket ? 'WebSocket' : 'HTTP'} API's ${websocket ? 'connects and messages' : 'requests'} failed on the server side in 5 minutes: see the functions' error alarms and the API's access log.`,
      Metrics: metrics,
      Threshold: ERROR_RATE_PERCENT,
    }),
  };
}

function stateMachineAlarm(template, logicalId, prefix) {
  const dimensions = [{ Name: 'StateMachineArn', Value: { Ref: logicalId } }];
  return {
    [`${logicalId}FailuresAlarm`]: alarm({
      AlarmName: `${prefix}-${logicalId}-executions-failed`,
      AlarmDescription: `An execution of ${logicalId} failed, timed out or was aborted in the last 5 minutes: a video could not be transcoded (its VideoTranscodeFailed event and the execution's history say why).`,
      Metrics: [
        stat('failed', 'AWS/States', 'ExecutionsFailed', dimensions),
        stat('timedOut', 'AWS/States', 'ExecutionsTimedOut', dimensions),
        stat('aborted', 'AWS/States', 'ExecutionsAborted', dimensions),
        expression('executions', 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)', 'failed, timed out, aborted'),
      ],
      Threshold: 0,
    }),
  };
}

function ofType(template, type) {
  return Object.keys(template.Resources).filter((id) => template.Resources[id].Type === type);
}

// --- The dashboard: a graph widget is {title, metrics, stat}; `${LogicalId}` tokens are filled by Fn::Sub ---

function graph(title, metrics, extra = {}) {
  return {
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', period: FIVE_MINUTES, metrics, ...extra },
  };
}

function perResource(ids, namespace, metricName, dimension, value, statistic, label = (id) => id) {
  return ids.map((id) => [namespace, metricName, dimension, value(id), { stat: statistic, label: label(id) }]);
}

function search(text, statistic, id) {
  return [{ expression: `SEARCH('${text}', '${statistic}', ${FIVE_MINUTES})`, id, label: '' }];
}

function dashboard(template, options, functionIds) {
  const widgets = [];
  const fn = (id) => `\${${id}}`;
  const perFunction = (metricName, statistic) =>
    perResource(functionIds, 'AWS/Lambda', metricName, 'FunctionName', fn, statistic, (id) => options.functions[id].name);
  if (functionIds.length) {
    widgets.push(
      graph('Invocations', perFunction('Invocations', 'Sum')),
      graph('Errors', perFunction('Errors', 'Sum')),
      graph('Throttles', perFunction('Throttles', 'Sum')),
      graph('Duration (maximum, ms)', perFunction('Duration', 'Maximum'))
    );
  }
  for (const api of ofType(template, 'AWS::ApiGatewayV2::Api')) {
    const dim = ['ApiId', `\${${api}}`];
    if (template.Resources[api].Properties.ProtocolType === 'WEBSOCKET') {
      widgets.push(
        graph('WebSocket API: connects, messages, errors', [
          ['AWS/ApiGateway', 'ConnectCount', ...dim, { stat: 'Sum' }],
          ['AWS/ApiGateway', 'MessageCount', ...dim, { stat: 'Sum' }],
          ['AWS/ApiGateway', 'ClientError', ...dim, { stat: 'Sum' }],
          ['AWS/ApiGateway', 'ExecutionError', ...dim, { stat: 'Sum' }],
          ['AWS/ApiGateway', 'IntegrationError', ...dim, { stat: 'Sum' }],
        ])
      );
    } else {
      widgets.push(
        graph('HTTP API: requests, 4xx, 5xx', [
          ['AWS/ApiGateway', 'Count', ...dim, { stat: 'Sum' }],
          ['AWS/ApiGateway', '4xx', ...dim, { stat: 'Sum' }],
          ['AWS/ApiGateway', '5xx', ...dim, { stat: 'Sum' }],
        ]),
        graph('HTTP API: latency (ms)', [
          ['AWS/ApiGateway', 'Latency', ...dim, { stat: 'p50' }],
          ['AWS/ApiGateway', 'Latency', ...dim, { stat: 'p99' }],
          ['AWS/ApiGateway', 'IntegrationLatency', ...dim, { stat: 'p99' }],
        ])
      );
    }
  }
  const queues = ofType(template, 'AWS::SQS::Queue');
  if (queues.length) {
    const name = (id) => `\${${id}.QueueName}`;
    widgets.push(
      graph('Queue depth (visible messages)', perResource(queues, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', name, 'Maximum')),
      graph('Oldest message (s)', perResource(queues, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', name, 'Maximum'))
    );
  }
  for (const machine of ofType(template, 'AWS::StepFunctions::StateMachine')) {
    const dim = ['StateMachineArn', `\${${machine}}`];
    widgets.push(
      graph(`${machine}: executions`, [
        'ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted',
      ].map((metric) => ['AWS/States', metric, ...dim, { stat: 'Sum' }])),
      graph(`${machine}: execution time (ms)`, [
        ['AWS/States', 'ExecutionTime', ...dim, { stat: 'p50' }],
        ['AWS/States', 'ExecutionTime', ...dim, { stat: 'Maximum' }],
      ])
    );
  }
  // The application's own metrics (Powertools, namespace Video24, dimension service): this service's, then the
  // whole system's flow of videos and what a source minute costs to transcode.
  if (options.metricsService) {
    const own = `service="${options.metricsService}"`;
    widgets.push(
      graph(`Video24 metrics of ${options.metricsService} (sum)`, [
        ...search(`{Video24,service} ${own}`, 'Sum', 'own'),
        ...search(`{Video24,reason,service} ${own}`, 'Sum', 'byReason'),
        ...search(`{Video24,route,service,status} ${own}`, 'Sum', 'byRoute'),
      ])
    );
  }
  widgets.push(
    graph('Videos: uploaded, ready, failed (all services)', [
      ...search('{Video24,service} MetricName="VideosUploaded" OR MetricName="VideosReady"', 'Sum', 'videos'),
      ...search('{Video24,reason,service} MetricName="VideosFailed"', 'Sum', 'failed'),
    ]),
    graph('Transcode cost drivers (average)', [
      ...search(
        '{Video24,service} MetricName="TranscodeWallSecondsPerSourceMinute" OR MetricName="TranscodeCpuSecondsPerSourceMinute" OR MetricName="ChunkSeconds"',
        'Average',
        'cost'
      ),
      ...search('{Video24,service} MetricName="SourceMinutes"', 'Sum', 'minutes'),
    ])
  );
  let x = 0;
  let y = 0;
  for (const widget of widgets) {
    Object.assign(widget, { x, y });
    x = x === 0 ? 12 : 0;
    y += x === 0 ? 6 : 0;
  }
  return {
    OperationsDashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: options.prefix,
        DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) },
      },
    },
  };
}

function operations(template, options) {
  const { prefix, functions } = options;
  const functionIds = Object.keys(functions).filter((id) => template.Resources[id]);
  if (!template.Resources[ALARM_TOPIC]) {
    throw new Error(`video24-alarms: ${prefix} has no ${ALARM_TOPIC} (an AWS::SNS::Topic) for its alarms`);
  }
  const resources = {};
  for (const id of functionIds) Object.assign(resources, functionAlarms(template, id, functions[id], prefix));
  for (const id of ofType(template, 'AWS::ApiGatewayV2::Api')) Object.assign(resources, apiAlarm(template, id, prefix));
  for (const id of ofType(template, 'AWS::StepFunctions::StateMachine')) {
    Object.assign(resources, stateMachineAlarm(template, id, prefix));
  }
  Object.assign(resources, dashboard(template, options, functionIds));
  for (const id of Object.keys(resources)) {
    if (template.Resources[id]) throw new Error(`video24-alarms: ${prefix} already declares ${id}`);
  }
  return resources;
}

module.exports = { operations, DURATION_SHARE, ERROR_RATE_PERCENT };

if (require.main === module) {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  process.stdout.write(JSON.stringify(operations(input.template, input.options)));
}
