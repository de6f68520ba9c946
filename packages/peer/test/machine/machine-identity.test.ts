import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeClientMessage, encodeControl, PROTOCOL_VERSION } from '@cascade/common';
import { helloIdentity, machineIdentity, macFor } from '../../src/machine/machine-identity.js';

/** A fake /sys: two physical NICs, a bridge (no device link), DMI strings. */
function fakeSys(dmi: Record<string, string>): string {
  const sys = mkdtempSync(join(tmpdir(), 'cascade-sys-'));
  const nic = (name: string, mac: string, physical: boolean) => {
    mkdirSync(join(sys, 'class/net', name), { recursive: true });
    writeFileSync(join(sys, 'class/net', name, 'address'), `${mac}\n`);
    if (physical) mkdirSync(join(sys, 'class/net', name, 'device'));
  };
  nic('eth1', '52:54:00:00:00:02', true);
  nic('eth0', '52:54:00:00:00:01', true);
  nic('br0', '52:54:00:00:00:99', false);
  nic('lo', '00:00:00:00:00:00', false);
  mkdirSync(join(sys, 'class/dmi/id'), { recursive: true });
  for (const [k, v] of Object.entries(dmi)) writeFileSync(join(sys, 'class/dmi/id', k), `${v}\n`);
  return sys;
}

describe('machine identity', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('reports the MACs of physical NICs in name order, IPv4 addresses, DMI vendor, product and serial', () => {
    const sys = fakeSys({ sys_vendor: 'LENOVO', product_name: 'ThinkCentre M720q', product_serial: 'PC1ABCDE' });
    dirs.push(sys);
    const ifaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
      eth0: [
        { address: '10.0.3.17', family: 'IPv4', internal: false },
        { address: 'fe80::1', family: 'IPv6', internal: false },
      ],
    } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
    assert.deepEqual(machineIdentity(sys, ifaces), {
      macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
      ips: ['10.0.3.17'],
      vendor: 'LENOVO',
      product: 'ThinkCentre M720q',
      serial: 'PC1ABCDE',
    });
  });

  test('leaves out firmware placeholders, control characters and what cannot be read', () => {
    const sys = fakeSys({ sys_vendor: 'To Be Filled By O.E.M.', product_name: 'Box\u0007\u001b[2J 1' });
    dirs.push(sys);
    const id = machineIdentity(sys, {});
    assert.equal(id.vendor, undefined);
    assert.equal(id.serial, undefined);
    assert.equal(id.product, 'Box  [2J 1');
    assert.deepEqual(machineIdentity(join(sys, 'nope'), {}), { macs: [], ips: [] });
  });

  test('travels in the hello, and an oversized one is refused', () => {
    const hello = {
      type: 'hello' as const,
      protocol: PROTOCOL_VERSION,
      role: 'peer' as const,
      id: 'p1',
      name: 'pc-770001',
      machine: { macs: ['52:54:00:77:00:01'], ips: ['10.77.0.100'], product: 'Standard PC' },
    };
    assert.deepEqual(decodeClientMessage(encodeControl(hello)), hello);
    const huge = { ...hello, machine: { ...hello.machine, macs: Array(100).fill('52:54:00:77:00:01') } };
    assert.throws(() => decodeClientMessage(encodeControl(huge)), { code: 'ERR_MESSAGE_MALFORMED' });
  });
});

const nicInfo = (address: string, mac: string, internal = false): NetworkInterfaceInfo => ({
  address,
  mac,
  internal,
  family: 'IPv4',
  netmask: '255.255.255.0',
  cidr: `${address}/24`,
});

describe('macFor', () => {
  const interfaces = {
    lo: [nicInfo('127.0.0.1', '00:00:00:00:00:00', true)],
    eth0: [nicInfo('10.0.3.11', 'AA:BB:CC:DD:EE:01')],
    eth1: [nicInfo('192.168.1.5', 'aa:bb:cc:dd:ee:02')],
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

describe('helloIdentity', () => {
  test('each IPv4 address paired with the MAC of its interface (a veth too), loopback left out', () => {
    const interfaces = {
      lo: [nicInfo('127.0.0.1', '00:00:00:00:00:00', true)],
      eth0: [nicInfo('10.0.3.11', 'AA:BB:CC:DD:EE:01')],
      eth1: [nicInfo('192.168.1.5', 'aa:bb:cc:dd:ee:02')],
    };
    const id = helloIdentity('/nonexistent', interfaces);
    assert.deepEqual(id.ips, ['10.0.3.11', '192.168.1.5']);
    assert.deepEqual(id.macs, ['aa:bb:cc:dd:ee:01', 'aa:bb:cc:dd:ee:02']);
  });
});
