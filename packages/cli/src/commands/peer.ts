import type { CommandModule } from 'yargs';
import { withOptions } from '../config-sources.js';
import type { ArgsOf } from '../options/option-table.js';
import { PEER_OPTIONS } from '../options/peer-options.js';

export type PeerArgs = ArgsOf<typeof PEER_OPTIONS>;

export const peerCommand: CommandModule<object, PeerArgs> = {
  command: 'peer',
  describe: 'Image this machine from the cascade, then serve others until the session ends',
  builder: (y) => withOptions(y, PEER_OPTIONS, { sources: true }) as never,
  handler: async (argv) => {
    // The peer is loaded here, not at the top: every `cascade` command loads this module.
    const { runPeerCommand } = await import('./peer-run.js');
    await runPeerCommand(argv);
  },
};
