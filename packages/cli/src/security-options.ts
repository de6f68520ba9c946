import { readFile } from 'node:fs/promises';
import { CascadeError } from '@cascade/common';

export interface ClientSecurityArgs {
  'token-file'?: string;
  ca?: string;
}

async function readSecret(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CascadeError('ERR_KEY_INVALID', `cannot read ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The session token from --token-file, else CASCADE_TOKEN; undefined when neither is set. */
export async function tokenFrom(argv: { 'token-file'?: string | undefined }): Promise<Buffer | undefined> {
  const file = argv['token-file'];
  const text = file ? (await readSecret(file, 'token file')).toString('utf8') : process.env.CASCADE_TOKEN;
  if (text === undefined) return undefined;
  const token = text.trim();
  if (token.length === 0) {
    throw new CascadeError('ERR_BAD_CONFIG', `the session token ${file ? `in ${file} ` : '(CASCADE_TOKEN) '}is empty`);
  }
  return Buffer.from(token, 'utf8');
}

/** { token, ca } for a ControlClient, read from the flags. */
export async function clientSecurityFrom(argv: ClientSecurityArgs): Promise<{ token?: Buffer; ca?: Buffer }> {
  const token = await tokenFrom(argv);
  const ca = argv.ca ? await readSecret(argv.ca, 'CA certificate') : undefined;
  return { ...(token ? { token } : {}), ...(ca ? { ca } : {}) };
}

/** Both TLS flags or neither. */
export async function tlsFrom(argv: {
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
}): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  const certPath = argv['tls-cert'];
  const keyPath = argv['tls-key'];
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) throw new CascadeError('ERR_BAD_CONFIG', '--tls-cert and --tls-key go together');
  return { cert: await readSecret(certPath, 'certificate'), key: await readSecret(keyPath, 'TLS key') };
}
