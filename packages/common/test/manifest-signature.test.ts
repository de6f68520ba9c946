import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CascadeError, type ErrorCode } from '../src/errors.js';
import { buildManifest } from '../src/manifest/build-manifest.js';
import { sliceDigest } from '../src/manifest/digest.js';
import { computeImageId, MIN_SLICE_SIZE, parseManifest, type Manifest } from '../src/manifest/manifest.js';
import {
  generateSigningKeyPair,
  loadPublicKey,
  loadSigningKey,
  parsePublicKey,
  publicKeyText,
  signManifest,
  unsignedManifest,
  verifyManifestSignature,
} from '../src/manifest/manifest-signature.js';
import { makeImage } from './fixtures.js';

const S = MIN_SLICE_SIZE;

function assertCode(code: ErrorCode): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CascadeError, `expected a CascadeError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

let dir: string;
let image: Buffer;
let md5Manifest: Manifest;
let shaManifest: Manifest;
const signer = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-signature-test-'));
  image = makeImage([S, S, S, 777], new Set([1]));
  const path = join(dir, 'lab.img');
  await writeFile(path, image);
  md5Manifest = await buildManifest(path, { sliceSize: S });
  shaManifest = await buildManifest(path, { sliceSize: S, digest: 'sha256' });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sha256 slice digests', () => {
  test('a sha256 manifest lists the SHA-256 of every slice and parses', () => {
    assert.equal(shaManifest.digest, 'sha256');
    shaManifest.digests.forEach((d, i) => {
      const slice = image.subarray(i * S, Math.min(image.length, (i + 1) * S));
      assert.equal(d, createHash('sha256').update(slice).digest('hex'));
    });
    assert.deepEqual(parseManifest(JSON.parse(JSON.stringify(shaManifest))), shaManifest);
  });

  test('md5 stays the default, and the same image under another digest is another imageId', () => {
    assert.equal(md5Manifest.digest, 'md5');
    assert.notEqual(md5Manifest.imageId, shaManifest.imageId);
  });

  test('sliceDigest of chunks equals the digest of their concatenation, for both algorithms', () => {
    const a = Buffer.from('hello, ');
    const b = Buffer.from('lab');
    for (const alg of ['md5', 'sha256'] as const) {
      assert.equal(sliceDigest(alg, [a, b]), sliceDigest(alg, Buffer.concat([a, b])));
    }
  });

  test('digests of the wrong length for the named algorithm are refused with ERR_MANIFEST_INVALID', () => {
    const body = { ...shaManifest, digest: 'md5' as const };
    const forged = { ...body, imageId: computeImageId(body) };
    assert.throws(() => parseManifest(forged), assertCode('ERR_MANIFEST_INVALID'));
  });
});

describe('signed manifests', () => {
  test('a manifest signed by a trusted key is accepted, also after a JSON round trip', () => {
    const signed = signManifest(shaManifest, signer.privateKey);
    const wire = parseManifest(JSON.parse(JSON.stringify(signed)));
    assert.deepEqual(wire.signature, signed.signature);
    verifyManifestSignature(wire, [stranger.publicKey, signer.publicKey]);
  });

  test('renaming a signed manifest keeps it valid: the name is a label, not content', () => {
    const signed = signManifest(md5Manifest, signer.privateKey);
    verifyManifestSignature({ ...signed, name: 'renamed.img' }, [signer.publicKey]);
  });

  test('an unsigned manifest is refused with ERR_MANIFEST_UNSIGNED', () => {
    assert.throws(() => verifyManifestSignature(md5Manifest, [signer.publicKey]), assertCode('ERR_MANIFEST_UNSIGNED'));
  });

  test('a manifest signed by an unknown key is refused with ERR_MANIFEST_KEY_UNTRUSTED', () => {
    const signed = signManifest(md5Manifest, stranger.privateKey);
    assert.throws(() => verifyManifestSignature(signed, [signer.publicKey]), assertCode('ERR_MANIFEST_KEY_UNTRUSTED'));
  });

  test('a manifest whose signature bytes were changed is refused with ERR_MANIFEST_SIGNATURE_INVALID', () => {
    const signed = signManifest(md5Manifest, signer.privateKey);
    const sig = Buffer.from(signed.signature!.sig, 'base64');
    sig[10] = (sig[10] ?? 0) ^ 1;
    const bad = { ...signed, signature: { ...signed.signature!, sig: sig.toString('base64') } };
    assert.throws(() => verifyManifestSignature(bad, [signer.publicKey]), assertCode('ERR_MANIFEST_SIGNATURE_INVALID'));
  });

  test('a signature moved onto another image (re-hashed, consistent imageId) is refused as invalid', () => {
    const signed = signManifest(md5Manifest, signer.privateKey);
    const digests = [...md5Manifest.digests];
    digests[0] = sliceDigest('md5', Buffer.from('forged slice'));
    const body = { ...md5Manifest, digests };
    const forged = parseManifest({ ...body, imageId: computeImageId(body), signature: signed.signature });
    assert.throws(
      () => verifyManifestSignature(forged, [signer.publicKey]),
      assertCode('ERR_MANIFEST_SIGNATURE_INVALID'),
    );
  });

  test('the signature covers the digest algorithm: a sha256 signature does not fit the md5 manifest', () => {
    const sig = signManifest(shaManifest, signer.privateKey).signature;
    assert.throws(
      () => verifyManifestSignature({ ...md5Manifest, signature: sig }, [signer.publicKey]),
      assertCode('ERR_MANIFEST_SIGNATURE_INVALID'),
    );
  });

  test('a signature of the wrong length is refused with ERR_MANIFEST_SIGNATURE_INVALID, not a crash', () => {
    const signed = signManifest(md5Manifest, signer.privateKey);
    const bad = { ...signed, signature: { ...signed.signature!, sig: 'AAAA' } };
    assert.throws(() => verifyManifestSignature(bad, [signer.publicKey]), assertCode('ERR_MANIFEST_SIGNATURE_INVALID'));
  });

  test('unsignedManifest drops the signature and nothing else', () => {
    const signed = signManifest(md5Manifest, signer.privateKey);
    assert.deepEqual(unsignedManifest(signed), md5Manifest);
    assert.equal('signature' in unsignedManifest(signed), false);
  });
});

describe('keys', () => {
  test('generateSigningKeyPair makes a pair whose public text parses back and verifies its signatures', async () => {
    const pair = generateSigningKeyPair();
    assert.match(pair.publicKey, /^ed25519:[A-Za-z0-9+/]{43}=$/);
    const keyPath = join(dir, 'k.pem');
    await writeFile(keyPath, pair.privatePem);
    const priv = await loadSigningKey(keyPath);
    const signed = signManifest(md5Manifest, priv);
    verifyManifestSignature(signed, [parsePublicKey(pair.publicKey)]);
    assert.equal(publicKeyText(priv), pair.publicKey);
  });

  test('a public key is read from text (with or without the prefix), from a file, or from SPKI PEM', async () => {
    const text = publicKeyText(signer.publicKey);
    const file = join(dir, 'k.pub');
    await writeFile(file, `${text}\n`);
    const pem = signer.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const forms = [
      parsePublicKey(text),
      parsePublicKey(text.slice('ed25519:'.length)),
      await loadPublicKey(file),
      parsePublicKey(pem),
    ];
    for (const k of forms) assert.equal(publicKeyText(k), text);
  });

  test('garbage public keys and non-Ed25519 keys are refused with ERR_KEY_INVALID', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' });
    for (const bad of ['', 'ed25519:', 'ed25519:AAAA', 'not base64 at all!', rsa.toString()]) {
      assert.throws(() => parsePublicKey(bad), assertCode('ERR_KEY_INVALID'), bad.slice(0, 30));
    }
  });

  test('a missing or non-Ed25519 signing key file is refused with ERR_KEY_INVALID', async () => {
    await assert.rejects(loadSigningKey(join(dir, 'missing.pem')), assertCode('ERR_KEY_INVALID'));
    const rsaPath = join(dir, 'rsa.pem');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    await writeFile(rsaPath, rsa);
    await assert.rejects(loadSigningKey(rsaPath), assertCode('ERR_KEY_INVALID'));
  });
});
