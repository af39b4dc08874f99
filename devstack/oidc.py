"""The local issuer's OpenID Connect side, for the website's sign-in (development only).

Authorization Code with PKCE (S256) for public clients, as oidc-client-ts speaks it: any user
name signs in, no password. A one-time code (60 s) is bound to the client, the redirect URI, the
code challenge, the nonce, the user and the chosen token lifetime; the token endpoint gives the
same access token as `Issuer.token` and an ID token signed by the same key. Pure: no HTTP here
(devstack/signin.py serves it); the clock is injectable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt

from devstack.gateway import JWKS_PATH  # the gateway serves the issuer's keys there
from devstack.issuer import Issuer

CLIENT_ID = "video24-web"  # the website: a public client (no secret), PKCE required
DISCOVERY_PATH = "/.well-known/openid-configuration"
AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"
USERINFO_PATH = "/userinfo"
LOGOUT_PATH = "/logout"
SCOPES = ("openid", "profile", "email")
ID_TOKEN_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce")
PROFILE_CLAIMS = ("name", "preferred_username", "email", "email_verified")  # of the profile and email scopes
CODE_TTL = 60.0
DEFAULT_TOKEN_TTL = 3600
MAX_TOKEN_TTL = 86400
MAX_VALUE = 2048  # state and nonce: oidc-client-ts sends 32 hex characters (plus any url_state)
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
USER_NAME_RULE = "1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL(SHA-256), no padding (RFC 7636 4.2)
CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 4.1
Params = Mapping[str, Sequence[str]]  # a query string or form body, each name with all its values


def parse(text: str) -> dict[str, list[str]]:
    """A query string or form body as name -> values (duplicates kept, so they can be refused)."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=64):
        values.setdefault(name, []).append(value)
    return values


def site_origin(text: str) -> str:
    """`scheme://host[:port]` of a website, checked: http(s), a host, nothing else."""
    url = urlsplit(text.strip())
    if url.scheme not in ("http", "https") or not url.hostname or url.username or url.password:
        raise ValueError(f"{text!r} is not a site origin such as http://127.0.0.1:5173")
    if url.path not in ("", "/") or url.query or url.fragment or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", url.netloc):
        raise ValueError(f"{text!r} is not a site origin such as http://127.0.0.1:5173 (no path, query or fragment)")
    return f"{url.scheme}://{url.netloc.lower()}"


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Client:
    """A registered client: where its sign-ins and sign-outs may return to (exact matches only)."""

    client_id: str
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()


def web_client(site_origins: Iterable[str] = ()) -> Client:
    """The website at each origin: sign-in returns to `<origin>/callback`, sign-out to `<origin>/`."""
    origins = list(dict.fromkeys(site_origin(origin) for origin in site_origins))
    return Client(CLIENT_ID, tuple(f"{o}/callback" for o in origins), tuple(f"{o}/" for o in origins))


class NotRedirectable(Exception):
    """The client or its redirect URI is unknown: say so on a page, never redirect (RFC 6749 4.1.2.1)."""


class AuthorizationError(Exception):
    """A refusal to send back to the (verified) redirect URI as ?error=...&state=..."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.redirect_uri, self.state, self.error, self.description = redirect_uri, state, error, description

    @property
    def location(self) -> str:
        return with_query(self.redirect_uri, error=self.error, error_description=self.description, state=self.state)


class SignInRefused(Exception):
    """What the person typed is not acceptable: the form again, with this message."""


class TokenError(Exception):
    """An error response of the token or userinfo endpoint (RFC 6749 5.2, RFC 6750 3.1)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def with_query(uri: str, **params: str | None) -> str:
    """`uri` with these parameters added to its query (None values left out)."""
    url = urlsplit(uri)
    added = urlencode({name: value for name, value in params.items() if value is not None})
    return urlunsplit(url._replace(query=f"{url.query}&{added}" if url.query else added))


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked authorization request: what the sign-in form carries and a code is bound to."""

    client_id: str
    redirect_uri: str
    scope: str  # as requested
    code_challenge: str
    state: str | None = None
    nonce: str | None = None

    @property
    def granted_scopes(self) -> tuple[str, ...]:
        requested = self.scope.split()
        return tuple(scope for scope in SCOPES if scope in requested)

    @property
    def redirect_origin(self) -> str:
        url = urlsplit(self.redirect_uri)
        return f"{url.scheme}://{url.netloc}"

    def fields(self) -> dict[str, str]:
        """The request as form fields, to be checked again when the form comes back."""
        fields = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "response_type": "code"}
        fields |= {"scope": self.scope, "code_challenge": self.code_challenge, "code_challenge_method": "S256"}
        return fields | {n: v for n, v in (("state", self.state), ("nonce", self.nonce)) if v is not None}


@dataclass(frozen=True)
class Grant:
    """What a one-time code stands for."""

    request: AuthorizationRequest
    user: str
    ttl: int
    issued_at: float
    expires_at: float


def _one(params: Params, name: str) -> str | None:
    """A parameter's value, None if absent; sent twice is an error (RFC 6749 3.1, 3.2)."""
    values = params.get(name) or []
    if len(values) > 1:
        raise ValueError(f"{name} is given more than once")
    return values[0] if values else None


@dataclass
class Provider:
    """The local OpenID provider: the issuer's key, the registered clients, and the codes in flight."""

    issuer: Issuer
    clients: Sequence[Client]
    base_url: str = ""  # the API's URL, once it listens (LocalStack.start sets it)
    clock: Callable[[], float] = time.time
    code_ttl: float = CODE_TTL
    _grants: dict[str, Grant] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def client(self, client_id: str | None) -> Client | None:
        return next((c for c in self.clients if c.client_id == client_id), None)

    def url(self, path: str) -> str:
        if not self.base_url:
            raise RuntimeError("the provider's base URL is not known yet (the API is not listening)")
        return f"{self.base_url.rstrip('/')}{path}"

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider Metadata at /.well-known/openid-configuration."""
        return {
            "issuer": self.issuer.issuer,
            "authorization_endpoint": self.url(AUTHORIZE_PATH),
            "token_endpoint": self.url(TOKEN_PATH),
            "userinfo_endpoint": self.url(USERINFO_PATH),
            "jwks_uri": self.url(JWKS_PATH),
            "end_session_endpoint": self.url(LOGOUT_PATH),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": list(SCOPES),
            "claims_supported": [*ID_TOKEN_CLAIMS, *PROFILE_CLAIMS],
        }

    # -- GET and POST /authorize ----------------------------------------------------------
    def authorization_request(self, params: Params) -> AuthorizationRequest:
        """The request checked; NotRedirectable or AuthorizationError otherwise."""
        try:
            client_id, redirect_uri = _one(params, "client_id"), _one(params, "redirect_uri")
        except ValueError as problem:
            raise NotRedirectable(str(problem)) from None
        client = self.client(client_id)
        if client is None:
            raise NotRedirectable(f"unknown client_id {client_id!r}" if client_id else "client_id is missing")
        if not redirect_uri:
            raise NotRedirectable("redirect_uri is missing")
        if redirect_uri not in client.redirect_uris:
            raise NotRedirectable(f"redirect_uri {redirect_uri!r} is not registered for {client.client_id}")
        try:
            state = _one(params, "state")
        except ValueError as problem:
            raise AuthorizationError(redirect_uri, None, "invalid_request", str(problem)) from None

        def refuse(error: str, description: str) -> AuthorizationError:
            return AuthorizationError(redirect_uri, state, error, description)

        try:
            response_type, response_mode = _one(params, "response_type"), _one(params, "response_mode")
            scope, nonce, prompt = _one(params, "scope"), _one(params, "nonce"), _one(params, "prompt")
            challenge, method = _one(params, "code_challenge"), _one(params, "code_challenge_method")
        except ValueError as problem:
            raise refuse("invalid_request", str(problem)) from None
        if not response_type:
            raise refuse("invalid_request", "response_type is missing")
        if response_type != "code":
            raise refuse("unsupported_response_type", "only response_type=code (with PKCE)")
        if response_mode not in (None, "query"):
            raise refuse("invalid_request", "only response_mode=query")
        if "openid" not in (scope or "").split():
            raise refuse("invalid_scope", "the scope must include openid")
        if not challenge:
            raise refuse("invalid_request", "code_challenge is required (PKCE)")
        if method != "S256":
            raise refuse("invalid_request", "code_challenge_method must be S256")
        if not CODE_CHALLENGE.fullmatch(challenge):
            raise refuse("invalid_request", "code_challenge is not an S256 challenge (43 base64url characters)")
        if any(value is not None and len(value) > MAX_VALUE for value in (state, nonce)):
            raise refuse("invalid_request", f"state and nonce are limited to {MAX_VALUE} characters")
        if prompt is not None and "none" in prompt.split():
            raise refuse("login_required", "the local issuer keeps no session: sign in on its page")
        return AuthorizationRequest(client.client_id, redirect_uri, scope or "", challenge, state, nonce)

    def sign_in(self, request: AuthorizationRequest, user: str, ttl: str) -> str:
        """Where to send the browser: the redirect URI with a new one-time code and the state."""
        if not USER_NAME.fullmatch(user):
            raise SignInRefused(f"The user name must be {USER_NAME_RULE}.")
        if not re.fullmatch(r"[0-9]{1,6}", ttl.strip()) or not 1 <= int(ttl) <= MAX_TOKEN_TTL:
            raise SignInRefused(f"The token lifetime must be a whole number of seconds from 1 to {MAX_TOKEN_TTL}.")
        now = self.clock()
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._grants = {c: g for c, g in self._grants.items() if g.expires_at > now}  # forget the stale
            self._grants[code] = Grant(request, user, int(ttl), now, now + self.code_ttl)
        return with_query(request.redirect_uri, code=code, state=request.state)

    # -- POST /token ----------------------------------------------------------------------
    def exchange(self, form: Params) -> dict[str, Any]:
        """A code and its verifier for tokens (RFC 6749 4.1.3, RFC 7636 4.6); TokenError otherwise."""
        try:
            grant_type, client_id, code = _one(form, "grant_type"), _one(form, "client_id"), _one(form, "code")
            redirect_uri, verifier = _one(form, "redirect_uri"), _one(form, "code_verifier")
        except ValueError as problem:
            raise TokenError("invalid_request", str(problem)) from None
        if not grant_type:
            raise TokenError("invalid_request", "grant_type is missing")
        if grant_type != "authorization_code":
            raise TokenError("unsupported_grant_type", "only authorization_code")
        if not client_id:
            raise TokenError("invalid_request", "client_id is missing (a public client names itself)")
        if self.client(client_id) is None:
            raise TokenError("invalid_client", f"unknown client_id {client_id!r}", status=401)
        if not code:
            raise TokenError("invalid_request", "code is missing")
        with self._lock:
            grant = self._grants.pop(code, None)  # single use: gone whatever happens next
        if grant is None:
            raise TokenError("invalid_grant", "the code is unknown or was already used")
        if self.clock() >= grant.expires_at:
            raise TokenError("invalid_grant", "the code has expired")
        if grant.request.client_id != client_id:
            raise TokenError("invalid_grant", "the code was issued to another client")
        if grant.request.redirect_uri != redirect_uri:
            raise TokenError("invalid_grant", "redirect_uri differs from the authorization request's")
        if not verifier or not CODE_VERIFIER.fullmatch(verifier):
            raise TokenError("invalid_grant", "code_verifier is missing or malformed")
        if not hmac.compare_digest(code_challenge(verifier), grant.request.code_challenge):
            raise TokenError("invalid_grant", "code_verifier does not match the code_challenge")
        return {
            "access_token": self.issuer.token(grant.user, ttl=grant.ttl),
            "id_token": self.id_token(grant),
            "token_type": "Bearer",
            "expires_in": grant.ttl,
            "scope": " ".join(grant.request.granted_scopes),
        }

    def id_token(self, grant: Grant) -> str:
        now = int(self.clock())
        request, user = grant.request, grant.user
        claims: dict[str, Any] = {
            "iss": self.issuer.issuer,
            "sub": self.issuer.subject(user),
            "aud": request.client_id,
            "iat": now,
            "exp": now + grant.ttl,
            "auth_time": int(grant.issued_at),
        }
        if request.nonce is not None:
            claims["nonce"] = request.nonce
        claims |= self.profile(user, request.granted_scopes)
        return jwt.encode(claims, self.issuer.private_key, algorithm="RS256", headers={"kid": self.issuer.kid})

    @staticmethod
    def profile(user: str, scopes: Iterable[str]) -> dict[str, Any]:
        """The standard claims the scopes ask for (the same email as the access token's)."""
        claims: dict[str, Any] = {}
        if "profile" in scopes:
            claims |= {"name": user, "preferred_username": user}
        if "email" in scopes:
            claims |= {"email": f"{user}@example.com", "email_verified": True}
        return claims

    # -- GET /userinfo --------------------------------------------------------------------
    def userinfo(self, authorization: str | None) -> dict[str, Any]:
        """The claims of the user an access token from this issuer names."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("invalid_request", "a Bearer access token is required", status=401)
        try:
            claims = jwt.decode(
                token.strip(),
                self.issuer.private_key.public_key(),
                algorithms=["RS256"],
                issuer=self.issuer.issuer,
                audience=self.issuer.audience,
                options={"require": ["exp", "iat", "iss", "sub", "username"]},
            )
        except jwt.PyJWTError as problem:
            raise TokenError("invalid_token", f"{type(problem).__name__}: {problem}", status=401) from None
        return {"sub": claims["sub"]} | self.profile(str(claims["username"]), SCOPES)

    # -- GET /logout (RP-initiated logout) ------------------------------------------------
    def logout_redirect(self, params: Params) -> str | None:
        """Where to send the browser after signing out, if it asked for a place this stack allows."""
        try:
            target, state = _one(params, "post_logout_redirect_uri"), _one(params, "state")
            client_id, hint = _one(params, "client_id"), _one(params, "id_token_hint")
        except ValueError:
            return None
        if not target:
            return None
        if not client_id and hint:  # the ID token names its client (its signature checked, not its age)
            try:
                claims = jwt.decode(
                    hint,
                    self.issuer.private_key.public_key(),
                    algorithms=["RS256"],
                    issuer=self.issuer.issuer,
                    options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
                )
            except jwt.PyJWTError:
                return None
            client_id = claims.get("aud") if isinstance(claims.get("aud"), str) else None
        clients = [self.client(client_id)] if client_id else list(self.clients)
        allowed = {uri for client in clients if client for uri in client.post_logout_redirect_uris}
        return with_query(target, state=state) if target in allowed else None
