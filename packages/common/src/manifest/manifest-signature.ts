import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CascadeError } from '../errors.js';
import { manifestContentDigest, type Manifest } from './manifest.js';

/**
 * Signed manifests. The signature is Ed25519 over `cascade-manifest-v1:` followed by the full
 * SHA-256 content digest of the manifest (64 hex characters; the imageId is its first 32). That
 * digest covers version, size, slice size, the digest algorithm, the zero map and every slice
 * digest, so a valid signature pins every byte of the image. The name is not covered: it is a
 * label for people and never decides what is written.
 */
const SIGNED_PREFIX = 'cascade-manifest-v1:';
const PUBLIC_KEY_PREFIX = 'ed25519:';

function signedMessage(m: Manifest): Buffer {
  return Buffer.from(SIGNED_PREFIX + manifestContentDigest(m));
}

function badKey(what: string, cause?: unknown): CascadeError {
  return new CascadeError('ERR_KEY_INVALID', what, cause === undefined ? {} : { cause });
}

/** A new Ed25519 key pair: the private key as PKCS#8 PEM, the public key as `ed25519:BASE64`. */
export function generateSigningKeyPair(): { privatePem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: publicKeyText(publicKey),
  };
}

/** Raw 32-byte Ed25519 public key, base64. */
function rawPublicKey(key: KeyObject): string {
  const x = key.export({ format: 'jwk' }).x;
  if (key.asymmetricKeyType !== 'ed25519' || typeof x !== 'string') throw badKey('not an Ed25519 key');
  return Buffer.from(x, 'base64url').toString('base64');
}

/** `ed25519:BASE64` — the form `cascade keygen` prints and `--trust` takes. */
export function publicKeyText(key: KeyObject): string {
  return PUBLIC_KEY_PREFIX + rawPublicKey(key.type === 'private' ? createPublicKey(key) : key);
}

/** Parse a trusted public key: `ed25519:BASE64`, bare base64 of the 32 raw bytes, or SPKI PEM. */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  try {
    if (t.startsWith('-----BEGIN')) {
      const k = createPublicKey(t);
      rawPublicKey(k);
      return k;
    }
    const b64 = t.startsWith(PUBLIC_KEY_PREFIX) ? t.slice(PUBLIC_KEY_PREFIX.length) : t;
    const raw = Buffer.from(b64, 'base64');
    if (raw.length !== 32 || raw.toString('base64') !== b64) throw badKey('expected 32 bytes of base64');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (err) {
    throw badKey(`not an Ed25519 public key (want ed25519:BASE64, as printed by cascade keygen)`, err);
  }
}

/** A trusted key given as text or as the path of a file holding it. */
export async function loadPublicKey(textOrPath: string): Promise<KeyObject> {
  const file = await readFile(textOrPath, 'utf8').catch(() => null);
  return parsePublicKey(file ?? textOrPath);
}

/** Read a private signing key (PKCS#8 PEM, as written by `cascade keygen`). */
export async function loadSigningKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw badKey(`cannot read signing key ${path}: ${(err as Error).message}`, err);
  }
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    return key;
  } catch (err) {
    throw badKey(`${path} is not an Ed25519 private key: ${(err as Error).message}`, err);
  }
}

/** The manifest without any signature. */
export function unsignedManifest(m: Manifest): Manifest {
  const copy = { ...m };
  delete copy.signature;
  return copy;
}

/** The manifest with a signature by `privateKey` (any earlier signature replaced). */
export function signManifest(m: Manifest, privateKey: KeyObject): Manifest {
  const sig = sign(null, signedMessage(m), privateKey).toString('base64');
  return { ...unsignedManifest(m), signature: { alg: 'ed25519', key: rawPublicKey(createPublicKey(privateKey)), sig } };
}

/**
 * Accept a manifest only if it is signed by one of `trusted`. Call after parseManifest (which
 * checks the imageId against the content). Throws ERR_MANIFEST_UNSIGNED,
 * ERR_MANIFEST_KEY_UNTRUSTED or ERR_MANIFEST_SIGNATURE_INVALID.
 */
export function verifyManifestSignature(m: Manifest, trusted: readonly KeyObject[]): void {
  const s = m.signature;
  if (!s) throw new CascadeError('ERR_MANIFEST_UNSIGNED', `manifest of ${m.name} (${m.imageId}) is not signed`);
  const key = trusted.find((k) => rawPublicKey(k) === s.key);
  if (!key) {
    throw new CascadeError(
      'ERR_MANIFEST_KEY_UNTRUSTED',
      `manifest of ${m.name} is signed by ed25519:${s.key.slice(0, 64)}, which is not trusted`,
    );
  }
  const sig = Buffer.from(s.sig, 'base64');
  if (sig.length !== 64 || !verify(null, signedMessage(m), key, sig)) {
    throw new CascadeError('ERR_MANIFEST_SIGNATURE_INVALID', `manifest of ${m.name} has a bad signature`);
  }
}
