// A real, certified OpenID provider (npm `oidc-provider`) on loopback, for the tests and for
// `switchboard dev`: staff "Sign in with SSO" against it exactly as against Google Workspace,
// Entra ID, Okta or Keycloak. Nothing of Switchboard runs here; this file only configures it.
//
//   node tools/oidc/provider.mjs CONFIG.json
//
// CONFIG: {"port": 0, "host": "127.0.0.1",
//          "clients": [{"client_id", "client_secret", "redirect_uris": [...],
//                       "id_token_signed_response_alg"?: "RS256" | "ES256" | "PS256" | "HS256"}],
//          "accounts": [{"login", "password", "sub"?, "email", "email_verified", "name"}]}
// Prints one line `oidc-provider ready <issuer>` once it listens (port 0: a free one).
//
// The sign-in page is ours (the package's devInteractions accept any login without a
// password): a login and password form checked against CONFIG.accounts. Consent is implied
// for the configured clients (first-party apps, as a company's IdP is set up for its tools).
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = config.host || '127.0.0.1';

function privateJwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

const accounts = new Map(config.accounts.map((a) => [a.sub || a.login, a]));
const byLogin = new Map(config.accounts.map((a) => [a.login, a]));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(uid, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in - local OpenID provider</title>
<style>body{font-family:system-ui;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}</style></head>
<body><h1>Local OpenID provider</h1><p>Sign in to continue to Switchboard.</p>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label for="login">Login</label><input id="login" name="login" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function start(port) {
  const issuer = `http://${host}:${port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', ...c,
    })),
    jwks: { keys: [
      privateJwk('rsa', { modulusLength: 2048 }, 'RS256'),
      privateJwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    ] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false, // the ID token carries email and name (what an SSO sign-in reads)
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'HS256'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, email: account.email, email_verified: account.email_verified !== false, name: account.name };
        },
      };
    },
    async loadExistingGrant(ctx) {
      // consent implied: every configured client gets the scopes it asks for
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope);
      grant.addOIDCClaims(['email', 'email_verified', 'name']);
      await grant.save();
      return grant;
    },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
  });
  provider.proxy = false;
  provider.use(async (ctx, next) => {
    const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!m) return next();
    ctx.set('Cache-Control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== m[1]) ctx.throw(400, 'interaction mismatch');
    if (!m[2] && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = page(details.uid);
      return undefined;
    }
    if (m[2] && ctx.method === 'POST') {
      const form = await readForm(ctx.req);
      const account = byLogin.get(form.get('login') || '');
      if (!account || account.password !== form.get('password')) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = page(details.uid, 'Wrong login or password.');
        return undefined;
      }
      const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: account.sub || account.login } },
        { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(to);
      return undefined;
    }
    return ctx.throw(405);
  });
  return { provider, issuer };
}

// the issuer names its port, so the port is chosen before the provider is made
const probe = createServer();
probe.listen(config.port || 0, host, async () => {
  const { port } = probe.address();
  probe.close(async () => {
    const { provider, issuer } = await start(port);
    provider.listen(port, host, () => {
      process.stdout.write(`oidc-provider ready ${issuer}\n`);
    });
  });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
