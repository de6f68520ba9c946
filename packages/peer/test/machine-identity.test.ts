import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, test } from 'node:test';
import { macFor } from '../src/machine-identity.js';

const nic = (address: string, mac: string, internal = false): NetworkInterfaceInfo => ({
  address,
  mac,
  internal,
  family: 'IPv4',
  netmask: '255.255.255.0',
  cidr: `${address}/24`,
});

describe('macFor', () => {
  const interfaces = {
    lo: [nic('127.0.0.1', '00:00:00:00:00:00', true)],
    eth0: [nic('10.0.3.11', 'AA:BB:CC:DD:EE:01')],
    eth1: [nic('192.168.1.5', 'aa:bb:cc:dd:ee:02')],
  };
  test('the MAC of the interface holding the address, lower-case', () => {
    assert.equal(macFor('10.0.3.11', interfaces), 'aa:bb:cc:dd:ee:01');
    assert.equal(macFor('::ffff:192.168.1.5', interfaces), 'aa:bb:cc:dd:ee:02');
  });
  test('null for loopback and unknown addresses', () => {
    assert.equal(macFor('127.0.0.1', interfaces), null);
    assert.equal(macFor('10.9.9.9', interfaces), null);
  });
});
