// Tessera against openid-client v6 (panva), the certified OpenID Connect relying-party library,
// built on oauth4webapi. The library does the protocol work and its own validation (issuer,
// `iss` in the authorization response per RFC 9207, state, PKCE, ID token signature against
// the JWKS, nonce, at_hash, expiry); the `Browser` class below plays the user agent: a cookie
// jar, no automatic redirects, the hosted sign-in form filled in.
//
// The runner (interop/run.sh) starts Tessera, provisions the fixtures and exports them as
// INTEROP_* environment variables; see interop/provision.py.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set (run interop/run.sh)`);
  return value;
};

const ISSUER = env('INTEROP_ISSUER');
const CONFIDENTIAL_ID = env('INTEROP_CONFIDENTIAL_CLIENT_ID');
const CONFIDENTIAL_SECRET = env('INTEROP_CONFIDENTIAL_CLIENT_SECRET');
const PUBLIC_ID = env('INTEROP_PUBLIC_CLIENT_ID');
const USER_EMAIL = env('INTEROP_USER_EMAIL');
const USER_PASSWORD = env('INTEROP_USER_PASSWORD');
const REDIRECT_URI = env('INTEROP_REDIRECT_URI');
const POST_LOGOUT_REDIRECT_URI = env('INTEROP_POST_LOGOUT_REDIRECT_URI');
const CORE_URL = env('INTEROP_CORE_URL');
const CORE_TOKEN = env('INTEROP_CORE_TOKEN');

const SCOPE = 'openid profile email offline_access';

// openid-client v6 refuses http:// issuers and endpoints. The suite runs against Tessera on
// loopback without TLS, so it opts in with the documented `allowInsecureRequests`; it is
// applied to the Configuration, so every later request made with it is allowed too.
const insecure = { execute: [client.allowInsecureRequests] };

function discoverConfidential() {
  return client.discovery(
    new URL(ISSUER),
    CONFIDENTIAL_ID,
    CONFIDENTIAL_SECRET,
    client.ClientSecretBasic(CONFIDENTIAL_SECRET),
    insecure,
  );
}

function discoverPublic() {
  return client.discovery(new URL(ISSUER), PUBLIC_ID, undefined, client.None(), insecure);
}

// ---------------------------------------------------------------------------------------------
// The user agent
// ---------------------------------------------------------------------------------------------

function unescapeHtml(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, entity) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower];
  });
}

function attributes(tag) {
  const attrs = {};
  for (const [, name, value] of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"/g)) {
    attrs[name.toLowerCase()] = unescapeHtml(value);
  }
  return attrs;
}

/** The page's single form: its absolute action and its named fields. */
function onlyForm(pageUrl, html) {
  const forms = [...html.matchAll(/<form\b[^>]*>/gi)];
  assert.equal(forms.length, 1, `expected one form on ${pageUrl}`);
  const action = new URL(attributes(forms[0][0]).action, pageUrl);
  const fields = {};
  for (const [tag] of html.matchAll(/<(?:input|button)\b[^>]*>/gi)) {
    const attrs = attributes(tag);
    if (attrs.name && !(attrs.name in fields)) fields[attrs.name] = attrs.value ?? '';
  }
  return { action, fields };
}

class Browser {
  #cookies = new Map();

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) {
      headers.set('cookie', [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  }

  get(url) {
    return this.request(url);
  }

  post(url, fields) {
    return this.request(url, { method: 'POST', body: new URLSearchParams(fields) });
  }

  /** Follows an authorization request through sign-in (and consent, if asked); returns the
   * redirect back to the client. */
  async signIn(authorizationUrl) {
    let response = await this.get(authorizationUrl);
    assert.equal(response.status, 303, await response.text());
    let location = new URL(response.headers.get('location'), authorizationUrl);
    if (location.href.startsWith(REDIRECT_URI)) return location;

    let page = await this.get(location);
    assert.equal(page.status, 200);
    let form = onlyForm(location, await page.text());
    assert.match(form.action.pathname, /\/login$/);
    assert.ok('csrf' in form.fields && 'username' in form.fields && 'password' in form.fields);
    response = await this.post(form.action, {
      csrf: form.fields.csrf,
      username: USER_EMAIL,
      password: USER_PASSWORD,
    });
    assert.equal(response.status, 303, await response.text());
    location = new URL(response.headers.get('location'), form.action);
    if (location.href.startsWith(REDIRECT_URI)) return location;

    // A third-party client: the consent page.
    page = await this.get(location);
    assert.equal(page.status, 200);
    form = onlyForm(location, await page.text());
    response = await this.post(form.action, { csrf: form.fields.csrf, decision: 'allow' });
    assert.equal(response.status, 303, await response.text());
    location = new URL(response.headers.get('location'), form.action);
    assert.ok(location.href.startsWith(REDIRECT_URI), location.href);
    return location;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Authorization code + PKCE (S256) with state and nonce, validated by openid-client. */
async function codeFlow(config, browser = new Browser()) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
  });
  const callback = await browser.signIn(url);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier,
    expectedState,
    expectedNonce,
    idTokenExpected: true,
  });
  return { tokens, nonce: expectedNonce, callback, browser, pkceCodeVerifier, expectedState };
}

async function oauthErrorOf(promise) {
  const error = await promise.then(
    () => assert.fail('expected an OAuth error response'),
    (e) => e,
  );
  assert.ok(error instanceof client.ResponseBodyError, `${error?.name}: ${error?.message}`);
  return error.error;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

test('discovery yields the issuer and every endpoint the flows need', async () => {
  const config = await discoverConfidential();
  const metadata = config.serverMetadata();
  // openid-client already refused a document whose issuer differs (OIDC Discovery §4.3).
  assert.equal(metadata.issuer, ISSUER);
  for (const endpoint of [
    'authorization_endpoint',
    'token_endpoint',
    'userinfo_endpoint',
    'introspection_endpoint',
    'revocation_endpoint',
    'end_session_endpoint',
    'jwks_uri',
  ]) {
    assert.ok(metadata[endpoint]?.startsWith(`${ISSUER}/`), `${endpoint}: ${metadata[endpoint]}`);
  }
  assert.ok(metadata.code_challenge_methods_supported.includes('S256'));
  assert.equal(metadata.authorization_response_iss_parameter_supported, true);
  assert.ok(metadata.supportsPKCE());
});

test('authorization code with PKCE, confidential client (client_secret_basic)', async () => {
  const config = await discoverConfidential();
  const { tokens, nonce } = await codeFlow(config);
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.ok(claims.aud === CONFIDENTIAL_ID || claims.aud.includes(CONFIDENTIAL_ID));
  assert.equal(claims.nonce, nonce);
  assert.ok(claims.at_hash, 'at_hash is present (and was checked by the library)');
  assert.ok(tokens.refresh_token, 'offline_access grants a refresh token');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
});

test('authorization code with PKCE, public client (token_endpoint_auth_method none)', async () => {
  const config = await discoverPublic();
  const { tokens } = await codeFlow(config);
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.ok(claims.aud === PUBLIC_ID || claims.aud.includes(PUBLIC_ID));
  assert.ok(tokens.refresh_token);
});

test('an authorization response from another issuer is rejected (RFC 9207)', async () => {
  const config = await discoverConfidential();
  const browser = new Browser();
  const expectedState = client.randomState();
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
  });
  const callback = await browser.signIn(url);
  assert.equal(callback.searchParams.get('iss'), ISSUER);
  callback.searchParams.set('iss', 'https://attacker.example');
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState }),
    (e) => /"iss"/.test(`${e.message} ${e.cause?.message}`),
  );
});

test('an authorization code is refused when reused', async () => {
  const config = await discoverConfidential();
  const { callback, pkceCodeVerifier, expectedState } = await codeFlow(config);
  // RFC 6749 §4.1.2
  const error = await oauthErrorOf(
    client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState }),
  );
  assert.equal(error, 'invalid_grant');
});

for (const [kind, discover] of [
  ['confidential', discoverConfidential],
  ['public', discoverPublic],
]) {
  test(`refresh token rotates and the old one is refused (${kind} client)`, async () => {
    const config = await discover();
    const { tokens } = await codeFlow(config);
    const first = tokens.refresh_token;
    // openid-client validates an ID token in the refresh response against the original
    // (OIDC Core §12.2) when one is returned.
    const refreshed = await client.refreshTokenGrant(config, first);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, first);
    // RFC 9700 §4.14.2 / RFC 6749 §6
    assert.equal(await oauthErrorOf(client.refreshTokenGrant(config, first)), 'invalid_grant');
  });
}

test('userinfo returns the signed-in user', async () => {
  const config = await discoverConfidential();
  const { tokens } = await codeFlow(config);
  const sub = tokens.claims().sub;
  // The library checks that the response's sub equals the ID token's (OIDC Core §5.3.2).
  const info = await client.fetchUserInfo(config, tokens.access_token, sub);
  assert.equal(info.sub, sub);
  assert.equal(info.email, USER_EMAIL);
  assert.equal(info.email_verified, true);
  assert.equal(info.name, 'Ada Lovelace');
  assert.equal(info.given_name, 'Ada');
  assert.equal(info.family_name, 'Lovelace');
});

test('introspection is active, then inactive after revocation', async () => {
  const config = await discoverConfidential();
  const { tokens } = await codeFlow(config);
  const active = await client.tokenIntrospection(config, tokens.access_token, {
    token_type_hint: 'access_token',
  });
  // RFC 7662 §2.2
  assert.equal(active.active, true);
  assert.equal(active.client_id, CONFIDENTIAL_ID);
  assert.equal(active.iss, ISSUER);
  assert.equal(active.sub, tokens.claims().sub);
  assert.ok(active.scope.split(' ').includes('openid'));
  assert.equal(
    (await client.tokenIntrospection(config, tokens.refresh_token)).active,
    true,
  );

  await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });

  assert.deepEqual(
    { ...(await client.tokenIntrospection(config, tokens.refresh_token)) },
    { active: false },
  );
  assert.deepEqual(
    { ...(await client.tokenIntrospection(config, tokens.access_token)) },
    { active: false },
  );
});

test('revocation of an access token ends its use (public client)', async () => {
  const config = await discoverPublic();
  const { tokens } = await codeFlow(config);
  const sub = tokens.claims().sub;
  await client.fetchUserInfo(config, tokens.access_token, sub);
  // RFC 7009 §2.1: a public client identifies itself with client_id only.
  await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
  await assert.rejects(
    client.fetchUserInfo(config, tokens.access_token, sub),
    (e) => e instanceof client.WWWAuthenticateChallengeError && e.status === 401,
  );
  assert.equal(
    await oauthErrorOf(client.refreshTokenGrant(config, tokens.refresh_token)),
    'invalid_grant',
  );
});

test('revocation of an unknown token succeeds (RFC 7009 §2.2)', async () => {
  const config = await discoverConfidential();
  await client.tokenRevocation(config, 'no-such-token');
});

test('client credentials', async () => {
  const config = await discoverConfidential();
  const tokens = await client.clientCredentialsGrant(config, { scope: 'api:read' });
  assert.ok(tokens.access_token);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.refresh_token, undefined);
  assert.equal(tokens.id_token, undefined);
  const info = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, CONFIDENTIAL_ID);
  assert.equal(info.scope, 'api:read');
});

// A key pair made with WebCrypto, its public half registered through the Core API as the
// `jwks` of a new private_key_jwt client (OIDC Core §9), and a Configuration that authenticates
// with openid-client's PrivateKeyJwt (assertions with `aud` = the issuer identifier).
const KEY_ALGORITHMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  RS256: {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
  EdDSA: { name: 'Ed25519' },
};

async function discoverPrivateKeyJwt(alg) {
  const { privateKey, publicKey } = await crypto.subtle.generateKey(KEY_ALGORITHMS[alg], true, [
    'sign',
    'verify',
  ]);
  const kid = `node-${alg}-${client.randomState().slice(0, 8)}`;
  const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid };
  const response = await fetch(`${CORE_URL}/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CORE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `interop private_key_jwt ${alg} (node)`,
      client_type: 'confidential',
      grant_types: ['client_credentials'],
      allowed_scopes: ['api:read'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [jwk] },
    }),
  });
  const registered = await response.json();
  assert.equal(response.status, 201, JSON.stringify(registered));
  assert.equal(registered.client_secret, undefined);
  const config = await client.discovery(
    new URL(ISSUER),
    registered.client_id,
    undefined,
    client.PrivateKeyJwt({ key: privateKey, kid }),
    insecure,
  );
  return { config, clientId: registered.client_id };
}

for (const alg of Object.keys(KEY_ALGORITHMS)) {
  test(`client credentials and introspection with private_key_jwt (${alg})`, async () => {
    const { config, clientId } = await discoverPrivateKeyJwt(alg);
    const metadata = config.serverMetadata();
    assert.ok(metadata.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.ok(metadata.token_endpoint_auth_signing_alg_values_supported.includes(alg));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'api:read' });
    assert.ok(tokens.access_token);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    // Each request carries a fresh assertion (its own jti), so a second one succeeds too.
    const again = await client.clientCredentialsGrant(config, { scope: 'api:read' });
    assert.notEqual(again.access_token, tokens.access_token);
    const info = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, clientId);
  });
}

test('RP-initiated logout redirects to the registered URI with state', async () => {
  const config = await discoverConfidential();
  const { tokens, browser } = await codeFlow(config);
  const state = client.randomState();
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state,
  });
  const response = await browser.get(url);
  // OIDC RP-Initiated Logout 1.0 §3
  assert.equal(response.status, 303, await response.text());
  const location = new URL(response.headers.get('location'), url);
  assert.equal(`${location.origin}${location.pathname}`, POST_LOGOUT_REDIRECT_URI);
  assert.deepEqual([...location.searchParams], [['state', state]]);

  // The session is gone: a new authorization request asks the user to sign in again.
  const again = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const next = await browser.get(again);
  assert.equal(next.status, 303);
  assert.ok(!new URL(next.headers.get('location'), again).href.startsWith(REDIRECT_URI));
});
