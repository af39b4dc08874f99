// The stage's settings, written next to the site by the deploy (or the local stack) as /config.json.

export interface OidcConfig {
  authority: string;
  client_id: string;
  scope: string;
  extra_query_params: Record<string, string>;
  metadata_seed: Record<string, string>;
}

export interface SiteConfig {
  apis: { upload: string; videos: string; me: string };
  oidc: OidcConfig;
  push_url: string | null;
}

export class ConfigError extends Error {}

function text(value: unknown, name: string): string {
  if (typeof value !== "string" || !value) throw new ConfigError(`config.json: ${name} is missing`);
  return value;
}

function strings(value: unknown, name: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`config.json: ${name} must be an object`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, text(v, `${name}.${k}`)]));
}

export function parseConfig(raw: unknown): SiteConfig {
  if (typeof raw !== "object" || raw === null) throw new ConfigError("config.json is not an object");
  const data = raw as Record<string, Record<string, unknown> | undefined>;
  const apis = data.apis ?? {};
  const oidc = data.oidc ?? {};
  const push = (raw as Record<string, unknown>).push_url;
  const trim = (url: string) => url.replace(/\/+$/, "");
  return {
    apis: {
      upload: trim(text(apis.upload, "apis.upload")),
      videos: trim(text(apis.videos, "apis.videos")),
      me: trim(text(apis.me, "apis.me")),
    },
    oidc: {
      authority: text(oidc.authority, "oidc.authority"),
      client_id: text(oidc.client_id, "oidc.client_id"),
      scope: typeof oidc.scope === "string" && oidc.scope ? oidc.scope : "openid profile email",
      extra_query_params: strings(oidc.extra_query_params, "oidc.extra_query_params"),
      metadata_seed: strings(oidc.metadata_seed, "oidc.metadata_seed"),
    },
    push_url: typeof push === "string" && push ? push : null,
  };
}

export async function loadConfig(): Promise<SiteConfig> {
  let response: Response;
  try {
    response = await fetch("/config.json", { cache: "no-store" });
  } catch {
    throw new ConfigError("could not load /config.json (is the site deployed with its configuration?)");
  }
  if (!response.ok) throw new ConfigError(`could not load /config.json: HTTP ${response.status}`);
  return parseConfig(await response.json());
}
