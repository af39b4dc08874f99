// Sign-in: OpenID Connect Authorization Code + PKCE through oidc-client-ts, against Cognito, Auth0 or
// the local stack's issuer. The user (tokens) lives in sessionStorage; where the person was goes
// through the identity provider in the sign-in request's state and comes back on /callback.
import { type User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import type { OidcConfig } from "./config";

export interface SignInState {
  returnTo: string;
}

export class Auth {
  private readonly manager: UserManager;
  private expiredHandlers: Array<() => void> = [];

  constructor(config: OidcConfig) {
    const origin = window.location.origin;
    this.manager = new UserManager({
      authority: config.authority,
      client_id: config.client_id,
      redirect_uri: `${origin}/callback`,
      post_logout_redirect_uri: `${origin}/`,
      response_type: "code",
      scope: config.scope,
      extraQueryParams: config.extra_query_params,
      metadataSeed: config.metadata_seed,
      loadUserInfo: false,
      automaticSilentRenew: false,
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    });
    this.manager.events.addAccessTokenExpired(() => {
      for (const handler of this.expiredHandlers) handler();
    });
  }

  /** Called when the session's access token expires (or the API refuses it). */
  onExpired(handler: () => void): void {
    this.expiredHandlers.push(handler);
  }

  expired(): void {
    for (const handler of this.expiredHandlers) handler();
  }

  async user(): Promise<User | null> {
    const user = await this.manager.getUser();
    return user && !user.expired ? user : null;
  }

  async accessToken(): Promise<string | null> {
    return (await this.user())?.access_token ?? null;
  }

  /** Off to the identity provider; back on /callback, then to `returnTo`. */
  async signIn(returnTo: string): Promise<void> {
    await this.manager.removeUser();
    const state: SignInState = { returnTo: safeReturn(returnTo) };
    await this.manager.signinRedirect({ state });
  }

  /** Finish the sign-in on /callback: the path to go back to. */
  async completeSignIn(): Promise<string> {
    const user = await this.manager.signinRedirectCallback();
    const state = user.state as Partial<SignInState> | undefined;
    return safeReturn(state?.returnTo ?? "/");
  }

  async signOut(): Promise<void> {
    const user = await this.manager.getUser();
    await this.manager.removeUser();
    try {
      await this.manager.signoutRedirect(user?.id_token ? { id_token_hint: user.id_token } : {});
    } catch {
      // an identity provider without an end-session endpoint: signed out of this site only
      window.location.assign("/");
    }
  }
}

/** Only a path on this site (never another origin, never the callback itself). */
export function safeReturn(path: string): string {
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/callback")) return "/";
  return path;
}
