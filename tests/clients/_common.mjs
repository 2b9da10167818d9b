// Shared plumbing of the jsforce client scripts: configuration from EMU_* environment variables,
// a connection built the way an application would build it, and one JSON result on stdout.
//
// EMU_* rather than SF_*: the sf CLI reads SF_ACCESS_TOKEN, SF_INSTANCE_URL… itself, and the
// tests run both clients side by side.
//
//   EMU_INSTANCE_URL + EMU_ACCESS_TOKEN          direct session (CRUD, query, bulk scripts)
//   EMU_LOGIN_URL, EMU_USERNAME, EMU_PASSWORD,
//   EMU_SECURITY_TOKEN, EMU_CLIENT_ID,
//   EMU_CLIENT_SECRET, EMU_REDIRECT_URI           logins (login.mjs)
//   EMU_API_VERSION                               optional; jsforce's own default (50.0) otherwise
//
// Trust in the emulator's certificate comes from NODE_EXTRA_CA_CERTS, as for any node client.
import jsforce from 'jsforce';

export { jsforce };

export function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(`environment variable ${name} is required`);
  }
  return value;
}

function withVersion(options) {
  const version = process.env.EMU_API_VERSION;
  return version ? { ...options, version } : options;
}

/** A connection on an existing session (instance URL + access token), as an app holding a token does. */
export function connectWithToken() {
  return new jsforce.Connection(
    withVersion({ instanceUrl: env('EMU_INSTANCE_URL'), accessToken: env('EMU_ACCESS_TOKEN') }),
  );
}

/** A not-yet-logged-in connection against the login URL (SOAP login when oauth2 is absent). */
export function connectForLogin({ oauth2 } = {}) {
  const options = { loginUrl: env('EMU_LOGIN_URL') };
  if (oauth2) options.oauth2 = oauth2;
  return new jsforce.Connection(withVersion(options));
}

function describeError(error) {
  const out = { name: error?.name, message: error?.message };
  for (const key of ['errorCode', 'fields', 'content', 'data', 'jobId']) {
    if (error && error[key] !== undefined) out[key] = error[key];
  }
  // undici's "fetch failed" hides the reason (certificate, refused connection…) in `cause`
  if (error?.cause) out.cause = { code: error.cause.code, message: error.cause.message };
  return out;
}

/** Runs main(), prints its result as one JSON line, exits 1 with the error as JSON on failure. */
export async function run(main) {
  try {
    const result = await main();
    process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
    process.exit(0);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: describeError(error) })}\n`);
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  }
}

/** Reads one line from stdin (used by the two-step authorization-code flow). */
export function readLine() {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk.toString('utf8');
      const newline = buffer.indexOf('\n');
      if (newline >= 0) {
        process.stdin.off('data', onData);
        process.stdin.pause();
        resolve(buffer.slice(0, newline).trim());
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => resolve(buffer.trim()));
    process.stdin.once('error', reject);
  });
}
