// jsforce logins against the emulator's login URL, then proof that the session works.
//
//   node login.mjs soap            conn.login(user, password + token) without OAuth client → loginBySoap
//   node login.mjs soap-calls      loginBySoap, then the partner calls conn.soap.getServerTimestamp() and
//                                  getUserInfo(), conn.describeGlobal() (REST), conn.logout() (SOAP
//                                  logout) and a query with the logged-out session (must fail)
//   node login.mjs oauth-password  conn.login(user, password + token) with client id/secret → password grant
//   node login.mjs oauth-code      authorization-code flow with PKCE, in two steps over stdin/stdout:
//                                  prints {"authorizationUrl": …} on a line, reads the code (or the whole
//                                  redirect URL) from stdin, then conn.authorize(code) and a refresh.
//
// Prints {ok, result: {userInfo, instanceUrl, accessToken, identity, user, limitInfo, …}}.
import { connectForLogin, env, jsforce, readLine, run } from './_common.mjs';

async function proveSession(conn, userInfo) {
  // Identity URL (jsforce appends ?format=json&oauth_token=…) and a REST query with the new session.
  const identity = await conn.identity();
  const user = await conn.query(`SELECT Id, Username FROM User WHERE Id = '${userInfo.id}'`);
  return {
    userInfo,
    instanceUrl: conn.instanceUrl,
    accessToken: conn.accessToken,
    identity: {
      user_id: identity.user_id,
      organization_id: identity.organization_id,
      username: identity.username,
      id: identity.id,
    },
    user: user.records.map(({ Id, Username }) => ({ Id, Username })),
    limitInfo: conn.limitInfo,
  };
}

function oauthConfig(extra = {}) {
  return {
    loginUrl: env('EMU_LOGIN_URL'),
    clientId: env('EMU_CLIENT_ID'),
    clientSecret: env('EMU_CLIENT_SECRET'),
    redirectUri: env('EMU_REDIRECT_URI', 'http://localhost:1717/OauthRedirect'),
    ...extra,
  };
}

async function soap() {
  const conn = connectForLogin();
  const userInfo = await conn.login(env('EMU_USERNAME'), env('EMU_PASSWORD') + env('EMU_SECURITY_TOKEN', ''));
  return { mode: 'soap', sessionType: conn._sessionType, ...(await proveSession(conn, userInfo)) };
}

async function soapCalls() {
  const conn = connectForLogin();
  await conn.login(env('EMU_USERNAME'), env('EMU_PASSWORD') + env('EMU_SECURITY_TOKEN', ''));
  const timestamp = await conn.soap.getServerTimestamp();
  const userInfo = await conn.soap.getUserInfo();
  const token = conn.accessToken;
  const instanceUrl = conn.instanceUrl;
  await conn.logout();
  let afterLogout = null;
  try {
    const stale = new jsforce.Connection({ instanceUrl, accessToken: token });
    await stale.query('SELECT Id FROM User LIMIT 1');
  } catch (err) {
    afterLogout = { errorCode: err.errorCode, name: err.name };
  }
  return { mode: 'soap-calls', timestamp, userInfo, loggedOut: !conn.accessToken, afterLogout };
}

async function oauthPassword() {
  const conn = connectForLogin({ oauth2: oauthConfig() });
  const userInfo = await conn.login(env('EMU_USERNAME'), env('EMU_PASSWORD') + env('EMU_SECURITY_TOKEN', ''));
  return { mode: 'oauth-password', sessionType: conn._sessionType, ...(await proveSession(conn, userInfo)) };
}

async function oauthCode() {
  const oauth2 = new jsforce.OAuth2(oauthConfig({ useVerifier: true }));
  const state = `st-${Date.now()}`;
  const authorizationUrl = oauth2.getAuthorizationUrl({ scope: 'api refresh_token', state });
  process.stdout.write(`${JSON.stringify({ authorizationUrl, state })}\n`);

  let code = await readLine();
  if (code.includes('://')) {
    const redirect = new URL(code);
    if (redirect.searchParams.get('state') !== state) throw new Error(`state mismatch in ${code}`);
    if (redirect.searchParams.get('error')) {
      throw new Error(`${redirect.searchParams.get('error')}: ${redirect.searchParams.get('error_description')}`);
    }
    code = redirect.searchParams.get('code');
  }
  if (!code) throw new Error('no authorization code on stdin');

  const conn = new jsforce.Connection({ oauth2 });
  const userInfo = await conn.authorize(code);
  const proof = await proveSession(conn, userInfo);

  // The refresh_token grant, then the refreshed token used on a fresh connection.
  const refreshed = await oauth2.refreshToken(conn.refreshToken);
  const conn2 = new jsforce.Connection({ instanceUrl: refreshed.instance_url, accessToken: refreshed.access_token });
  const count = await conn2.query('SELECT COUNT() FROM User');
  return {
    mode: 'oauth-code',
    hadRefreshToken: Boolean(conn.refreshToken),
    refreshed: {
      accessTokenChanged: refreshed.access_token !== conn.accessToken,
      instanceUrl: refreshed.instance_url,
      userCount: count.totalSize,
    },
    ...proof,
  };
}

const modes = { soap, 'soap-calls': soapCalls, 'oauth-password': oauthPassword, 'oauth-code': oauthCode };
const mode = process.argv[2];
if (!modes[mode]) {
  process.stderr.write(`usage: node login.mjs ${Object.keys(modes).join('|')}\n`);
  process.exit(2);
}
run(modes[mode]);
