// A real OpenID Connect provider for end-to-end tests: node-oidc-provider v9 with one static
// client, an RSA signing key made at start, a `groups` claim in Keycloak's "/parent/child" path
// form, and a plain login form of its own (every account's password is the same).
//
//   node oidc_provider.js SETTINGS.json
//
// SETTINGS: {"port", "node_modules", "client_id", "client_secret", "redirect_uri", "password",
//            "users_file"}. USERS_FILE maps each account to its groups:
//            {"alice": ["/a/physics", "/lab/chem"], ...}, or to its groups and a uid as a
//            Keycloak user-attribute mapper sends it: {"frank": {"groups": [], "uidNumber":
//            "47020"}}. It is read at every request, so a test changes someone's groups by
//            rewriting it (what a Keycloak admin would do).
// Prints "ready <issuer>" once it listens on 127.0.0.1:PORT.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// The package lives in the project's own node folder, not next to this script.
const modulePath = join(settings.node_modules, 'oidc-provider', 'lib', 'index.js');
const { default: Provider } = await import(pathToFileURL(modulePath).href);

const users = () => JSON.parse(readFileSync(settings.users_file, 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: settings.client_id,
    client_secret: settings.client_secret,
    redirect_uris: [settings.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name', 'uidNumber'],
    groups: ['groups'],
  },
  // Claims requested by scope go to the userinfo answer, which GenericOAuthenticator reads.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const entry = users()[id];
    if (entry === undefined) return undefined;
    const groups = Array.isArray(entry) ? entry : entry.groups;
    const extra = !Array.isArray(entry) && entry.uidNumber !== undefined
      ? { uidNumber: entry.uidNumber } : {};
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, groups, ...extra };
      },
    };
  },
  // A first-party client: consent is granted without asking.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!ctx.oidc.session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile groups');
    grant.addOIDCClaims(['preferred_username', 'name', 'groups', 'uidNumber']);
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const loginForm = (uid, message) => `<!doctype html><title>Sign in</title>
<p>${escape(message)}</p>
<form method="post" action="/interaction/${escape(uid)}/login">
<input name="username" autofocus><input name="password" type="password">
<button type="submit">Sign in</button></form>`;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function page(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

const handle = provider.callback();
http.createServer(async (req, res) => {
  if (!req.url.startsWith('/interaction/')) return handle(req, res);
  try {
    const { uid, prompt } = await provider.interactionDetails(req, res);
    if (prompt.name !== 'login') {
      return page(res, 400, `unexpected prompt ${escape(prompt.name)}`);
    }
    if (req.method === 'GET') return page(res, 200, loginForm(uid, 'Sign in'));
    const form = await readBody(req);
    const name = form.get('username') || '';
    if (form.get('password') !== settings.password || !(name in users())) {
      return page(res, 200, loginForm(uid, 'Wrong name or password'));
    }
    return await provider.interactionFinished(
      req, res, { login: { accountId: name } }, { mergeWithLastSubmission: false },
    );
  } catch (err) {
    return page(res, 400, escape(err.message || err));
  }
}).listen(settings.port, '127.0.0.1', () => console.log(`ready ${issuer}`));
