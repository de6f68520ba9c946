import type { ClientMessage, Role } from '@cascade/common';

const everyone: readonly Role[] = ['seeder', 'peer', 'observer', 'operator'];

/** Which roles may send which message: checked once, before any handler runs. */
export const allowedRoles: Readonly<Record<ClientMessage['type'], readonly Role[]>> = {
  hello: everyone,
  'open-session': ['seeder'],
  serve: ['seeder', 'peer'],
  want: ['peer'],
  progress: ['peer'],
  done: ['peer'],
  failed: ['peer'],
  dropped: ['seeder', 'peer'],
  leave: ['seeder', 'peer'],
  'start-session': ['operator'],
  'end-session': ['operator'],
  'set-session': ['operator'],
  'get-status': everyone,
};

export function maySend(role: Role, type: ClientMessage['type']): boolean {
  return allowedRoles[type].includes(role);
}
