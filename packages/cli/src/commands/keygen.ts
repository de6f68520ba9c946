import { writeFile } from 'node:fs/promises';
import { CascadeError, generateSigningKeyPair } from '@cascade/common';
import type { CommandModule } from 'yargs';

interface Args {
  out: string;
  force: boolean;
}

export const keygenCommand: CommandModule<object, Args> = {
  command: 'keygen',
  describe: 'Make an Ed25519 key pair for signing manifests (seed --sign-key, peer --trust)',
  builder: (y) =>
    y
      .option('out', {
        type: 'string',
        default: 'cascade-signing.key',
        describe: 'private key file (PEM, mode 0600); the public key goes to FILE.pub',
      })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' }),
  handler: async (argv) => {
    const { privatePem, publicKey } = generateSigningKeyPair();
    const flag = argv.force ? 'w' : 'wx';
    try {
      await writeFile(argv.out, privatePem, { mode: 0o600, flag });
      await writeFile(`${argv.out}.pub`, `${publicKey}\n`, { flag });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EEXIST' ? 'exists (use --force to overwrite)' : e.message;
      throw new CascadeError('ERR_BAD_CONFIG', `cannot write key ${argv.out}: ${why}`, { cause: err });
    }
    process.stdout.write(
      `private key: ${argv.out} (keep it on the file server only)\npublic key:  ${argv.out}.pub\n${publicKey}\n`,
    );
  },
};
