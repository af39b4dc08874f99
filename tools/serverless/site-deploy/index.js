'use strict';

// Publishes a service's website after `serverless deploy` (and on `serverless publish-site`): every file
// of the built site (custom.site.directory), then config.json from the stack's SiteConfig output, to the
// bucket of its SiteBucketName output; then it invalidates /index.html, /embed.html and /config.json on the
// distribution of its SiteDistributionId output. CloudFormation resolves config.json's values (the APIs'
// imported URLs), so packaging needs no AWS account and this plugin only copies what the stack says.
//
// Not serverless-s3-sync: its 3.5.1 builds clients with provider.getCredentials() and provider.sdk, the
// AWS SDK v2 surface that osls 4 removed (the call throws), and it pulls in the end-of-support SDK v2.
const fs = require('fs');
const path = require('path');

const OUTPUTS = { bucket: 'SiteBucketName', distribution: 'SiteDistributionId', config: 'SiteConfig' };
const CONFIG_KEY = 'config.json';
const ENTRY_KEY = 'index.html';
// the pages, which name the new build's hashed files (the embed page's too: CloudFront caches /embed/* as it)
const INVALIDATED = ['/index.html', '/embed.html', '/config.json'];
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
// With X-Content-Type-Options: nosniff a browser trusts these, so each file needs the right one.
const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.vtt': 'text/vtt; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

function contentType(key) {
  return CONTENT_TYPES[path.extname(key).toLowerCase()] || 'application/octet-stream';
}

// The site's files as bucket keys (a/b.js), sorted; dot files (.DS_Store) are not part of a site.
function siteFiles(directory, prefix = '') {
  const found = [];
  for (const entry of fs.readdirSync(path.join(directory, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const key = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...siteFiles(directory, key));
    else if (entry.isFile()) found.push(key);
  }
  return found.sort();
}

// Uploads in an order that never serves a page whose files are not there yet: the files, then
// index.html (which names them), then config.json.
function uploadPlan(directory, immutable) {
  const keys = siteFiles(directory).filter((key) => key !== CONFIG_KEY);
  const ordered = [...keys.filter((key) => key !== ENTRY_KEY), ...keys.filter((key) => key === ENTRY_KEY)];
  return ordered.map((key) => ({
    key,
    file: path.join(directory, key),
    contentType: contentType(key),
    cacheControl: key !== ENTRY_KEY && immutable.test(path.basename(key)) ? IMMUTABLE : REVALIDATE,
  }));
}

// config.json as the front end reads it, from the stack's SiteConfig output.
function siteConfig(text) {
  let config;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Error(`the stack's ${OUTPUTS.config} output is not JSON (${error.message}): ${text}`);
  }
  for (const field of ['apis', 'oidc']) {
    if (!config || typeof config[field] !== 'object') {
      throw new Error(`the stack's ${OUTPUTS.config} output has no "${field}" object: ${text}`);
    }
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}

async function publish({ s3, cloudfront, outputs, directory, immutable, log }) {
  const { PutObjectCommand } = require('@aws-sdk/client-s3');
  const { CreateInvalidationCommand } = require('@aws-sdk/client-cloudfront');
  const bucket = outputs[OUTPUTS.bucket];
  const config = siteConfig(outputs[OUTPUTS.config]);
  const plan = uploadPlan(directory, immutable);
  if (fs.existsSync(path.join(directory, CONFIG_KEY))) {
    log.warning(`${CONFIG_KEY} in ${directory} is not uploaded: the stack's ${OUTPUTS.config} output is`);
  }
  for (const item of plan) {
    const body = fs.readFileSync(item.file);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: item.key,
        Body: body,
        ContentType: item.contentType,
        CacheControl: item.cacheControl,
      })
    );
    log.info(`s3://${bucket}/${item.key} (${item.contentType}, ${item.cacheControl})`);
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: CONFIG_KEY,
      Body: config,
      ContentType: contentType(CONFIG_KEY),
      CacheControl: REVALIDATE,
    })
  );
  const invalidation = await cloudfront.send(
    new CreateInvalidationCommand({
      DistributionId: outputs[OUTPUTS.distribution],
      InvalidationBatch: {
        CallerReference: `site-deploy-${Date.now()}`,
        Paths: { Quantity: INVALIDATED.length, Items: INVALIDATED },
      },
    })
  );
  const id = invalidation.Invalidation && invalidation.Invalidation.Id;
  log.notice(
    `Site: ${plan.length} files and ${CONFIG_KEY} uploaded to ${bucket}; ` +
      `${INVALIDATED.join(', ')} invalidated (${id}). Files of earlier deploys stay in the bucket.`
  );
  return { uploaded: [...plan.map((item) => item.key), CONFIG_KEY], invalidation: id };
}

class SiteDeploy {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.log = log || { notice: console.log, info: () => {}, warning: console.warn };
    serverless.configSchemaHandler.defineCustomProperties({
      properties: {
        site: {
          type: 'object',
          properties: { directory: { type: 'string' }, immutable: { type: 'string' } },
          required: ['directory'],
          additionalProperties: false,
        },
      },
    });
    this.commands = {
      'publish-site': {
        usage: "Upload the built site and config.json to the deployed stack's bucket, and invalidate them",
        lifecycleEvents: ['publish'],
      },
    };
    this.hooks = {
      'before:package:finalize': () => this.checkConfig(),
      'before:deploy:deploy': () => this.checkBuilt(),
      'after:deploy:deploy': () => this.publish(),
      'publish-site:publish': () => this.checkBuilt().then(() => this.publish()),
    };
  }

  get settings() {
    const site = (this.serverless.service.custom || {}).site;
    if (!site) throw new this.serverless.classes.Error('site-deploy: custom.site is not set');
    return {
      directory: path.resolve(this.serverless.serviceDir, site.directory),
      immutable: new RegExp(site.immutable || '(?!)'),
    };
  }

  // When packaging (offline): the SiteConfig output gives JSON of the right shape whatever the params hold
  // (a param is put in as it is), trying each branch of an Fn::If in turn, an imported URL as a placeholder.
  checkConfig() {
    const output = ((this.serverless.service.resources || {}).Outputs || {})[OUTPUTS.config] || {};
    const sub = output.Value && output.Value['Fn::Sub'];
    if (!Array.isArray(sub) || typeof sub[0] !== 'string') {
      const where = `resources.Outputs.${OUTPUTS.config}`;
      throw new this.serverless.classes.Error(`site-deploy: ${where} must be an Fn::Sub of a text and its variables`);
    }
    const [text, variables] = sub;
    const choices = Object.fromEntries(
      Object.entries(variables || {}).map(([name, value]) => {
        if (typeof value === 'string') return [name, [value]];
        if (value && value['Fn::If']) return [name, value['Fn::If'].slice(1).filter((v) => typeof v === 'string')];
        return [name, ['https://imported.example']];
      })
    );
    const fill = (picked) =>
      text.replace(/\$\{([A-Za-z0-9]+)\}/g, (all, name) => (name in picked ? picked[name] : all));
    const first = Object.fromEntries(Object.entries(choices).map(([name, values]) => [name, values[0]]));
    for (const [name, values] of Object.entries(choices)) {
      for (const value of values) {
        try {
          siteConfig(fill({ ...first, [name]: value }));
        } catch (error) {
          const why = `config.json would be broken (check the oidc* params): ${error.message}`;
          throw new this.serverless.classes.Error(`site-deploy: ${why}`);
        }
      }
    }
  }

  // Before CloudFormation changes anything: a deploy without a built site would leave an empty bucket.
  async checkBuilt() {
    const { directory } = this.settings;
    if (!fs.existsSync(path.join(directory, ENTRY_KEY))) {
      throw new this.serverless.classes.Error(
        `site-deploy: ${path.join(directory, ENTRY_KEY)} is missing: build the site first (its build writes ${directory})`
      );
    }
  }

  async publish() {
    const { S3Client } = require('@aws-sdk/client-s3');
    const { CloudFrontClient } = require('@aws-sdk/client-cloudfront');
    const { DescribeStacksCommand } = require('@aws-sdk/client-cloudformation');
    const provider = this.serverless.getProvider('aws');
    const stackName = provider.naming.getStackName();
    const cloudformation = await provider.getCloudFormationClient();
    const { Stacks: stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Object.fromEntries((stacks[0].Outputs || []).map((o) => [o.OutputKey, o.OutputValue]));
    const missing = Object.values(OUTPUTS).filter((name) => !(name in outputs));
    if (missing.length) {
      throw new this.serverless.classes.Error(`site-deploy: stack ${stackName} has no output ${missing.join(', ')}`);
    }
    // CloudFront's API lives in us-east-1 whatever the stack's region.
    return publish({
      s3: new S3Client(await provider.getAwsSdkV3Config()),
      cloudfront: new CloudFrontClient(await provider.getAwsSdkV3Config({ region: 'us-east-1' })),
      outputs,
      log: this.log,
      ...this.settings,
    });
  }
}

module.exports = SiteDeploy;
