// The peer Tessera's token path is measured against (scripts/bench-oauth.sh): node
// oidc-provider with one issuer, one confidential client and an ES256 signing key, configured
// so that the endpoints the load driver calls do the same work as Tessera's:
//
// - client credentials (client_secret_basic) issue ES256-signed JWT access tokens, through a
//   default resource whose server info asks for `accessTokenFormat: 'jwt'`;
// - introspection and revocation are enabled. oidc-provider refuses to introspect its JWT
//   access tokens ("Structured JWT Tokens cannot be introspected"), so a second resource,
//   `urn:tessera:bench:opaque`, issues opaque tokens; the driver asks for one with
//   `--introspection-resource` and introspects that;
// - refresh: the client may use authorization_code and refresh_token; the driver logs in
//   through oidc-provider's development interactions (`devInteractions`: a login form that
//   accepts any user name, then a consent form), asking for `openid offline_access api` with
//   `prompt=consent` (oidc-provider grants offline_access only with it). Refresh tokens rotate
//   on every use (`rotateRefreshToken: true`), as Tessera's do, and each refresh issues an
//   ES256 JWT access token (for the default resource) and an ES256 ID token. The development
//   interactions print a warning at start; they are only on the login path, which the driver
//   runs before it measures. Run it with NODE_ENV=production.
//
// Storage is oidc-provider's in-process MemoryAdapter (an LRU cache): no database round trip.
//
// Usage: PORT=9000 ISSUER=http://127.0.0.1:9000 CLIENT_ID=bench CLIENT_SECRET=… node server.js
// It prints "listening <issuer>" once it accepts connections.

import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 9000);
const issuer = process.env.ISSUER ?? `http://127.0.0.1:${port}`;
const clientId = process.env.CLIENT_ID ?? 'bench';
const clientSecret = process.env.CLIENT_SECRET ?? 'bench-secret-that-is-long-enough-0123456789';
// The resource (audience) client-credentials tokens are issued for when none is requested.
const resource = 'urn:tessera:bench';
// A resource whose tokens are opaque, so that they can be introspected.
const opaqueResource = 'urn:tessera:bench:opaque';

// A fresh P-256 key per start, as Tessera generates one per issuer.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9999/callback'],
      id_token_signed_response_alg: 'ES256',
      scope: 'openid offline_access api',
    },
  ],
  jwks: { keys: [signingKey] },
  enabledJWA: {
    idTokenSigningAlgValues: ['ES256'],
    userinfoSigningAlgValues: ['ES256'],
    introspectionSigningAlgValues: ['ES256'],
    authorizationSigningAlgValues: ['ES256'],
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'api'],
  // Rotate on every use, as Tessera does (the default rotates only after 70 % of the TTL).
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator === opaqueResource) {
          return { scope: 'api', audience: opaqueResource, accessTokenTTL: 3600, accessTokenFormat: 'opaque' };
        }
        if (resourceIndicator !== resource) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});

// Errors the driver provokes would otherwise be logged per request; count them there instead.
provider.on('server_error', (_ctx, error) => {
  console.error('server_error', error);
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
// Keep idle keep-alive connections open between the driver's warm-up and measurement.
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
