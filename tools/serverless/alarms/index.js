'use strict';

// Alarms and a dashboard for a whole service, made at package time from what its compiled template holds:
// every function (errors, throttles, duration near its timeout), every API (5xx), every state machine
// (failed, timed out, aborted executions) and every queue (the dashboard). The alarms notify the service's
// AlarmTopic (declared in its serverless.yml). Nothing is listed twice: a function added to serverless.yml gets
// its alarms, and a changed timeout moves its duration threshold. See operations.js for what each one is.
const { operations } = require('./operations');

class Alarms {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // after the service's own `resources` are merged in: its AlarmTopic, queues and state machines are there
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.addOperations(),
    };
  }

  addOperations() {
    const service = this.serverless.service;
    const provider = this.serverless.getProvider('aws');
    const template = service.provider.compiledCloudFormationTemplate;
    const authorizers = Object.values((service.provider.httpApi || {}).authorizers || {});
    const functions = {};
    for (const name of service.getAllFunctions()) {
      const events = service.getFunction(name).events || [];
      functions[provider.naming.getLambdaLogicalId(name)] = {
        name,
        // what a person waits for (an API route, a socket, an authorizer): its errors are a rate
        requestDriven:
          events.some((event) => event.httpApi || event.websocket) ||
          authorizers.some((authorizer) => authorizer.functionName === name),
      };
    }
    const environment = service.provider.environment || {};
    Object.assign(
      template.Resources,
      operations(template, {
        prefix: `${service.service}-${provider.getStage()}`,
        functions,
        metricsService: environment.POWERTOOLS_SERVICE_NAME,
      })
    );
  }
}

module.exports = Alarms;
