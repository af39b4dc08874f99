'use strict';

// Packaging a service that declares a Lambda layer makes the framework ask CloudFormation
// whether the same layer was deployed before (to reuse its upload). With no AWS account at
// hand (CI, `make package`), that call cannot succeed. When VIDEO24_OFFLINE_PACKAGE=1 this
// plugin skips the check: the layer is simply packaged (and, on a deploy, uploaded again).
class OfflineLayers {
  constructor(serverless) {
    if (process.env.VIDEO24_OFFLINE_PACKAGE !== '1') return;
    const compiler = serverless.pluginManager.plugins.find((p) => p.constructor.name === 'AwsCompileLayers');
    if (!compiler) throw new Error('offline-layers: the layer compiler was not found in this framework version');
    compiler.compareWithLastLayer = async () => {};
  }
}

module.exports = OfflineLayers;
