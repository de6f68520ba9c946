import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLoopback, isUnspecified, macFor, plainIp, reachableHost } from '../src/members/addresses.js';
import { StateHarness } from './state-harness.js';

describe('reachableHost: the address a client is told to dial', () => {
  const remoteClient = { ip: '10.0.3.21', localAddress: '10.0.3.1' };
  const localClient = { ip: '127.0.0.1', localAddress: '127.0.0.1' };

  test('a routable advertised address is the operator’s word: kept', () => {
    assert.equal(reachableHost('10.0.3.5', { ip: '127.0.0.1' }, remoteClient), '10.0.3.5');
    assert.equal(reachableHost('files.lab', { ip: '10.0.3.5' }, remoteClient), 'files.lab');
  });

  test('a seeder on the coordinator’s host (it came over loopback) is reached where the client reached the coordinator', () => {
    assert.equal(reachableHost('127.0.0.1', { ip: '127.0.0.1' }, remoteClient), '10.0.3.1');
    assert.equal(reachableHost('0.0.0.0', { ip: '::ffff:127.0.0.1' }, remoteClient), '10.0.3.1');
  });

  test('a server on another host that advertised loopback or 0.0.0.0 is given the address it came from', () => {
    assert.equal(reachableHost('127.0.0.1', { ip: '10.0.3.5' }, remoteClient), '10.0.3.5');
    assert.equal(reachableHost('::', { ip: '::ffff:10.0.3.5' }, localClient), '10.0.3.5');
  });

  test('client and server both on the coordinator’s host keep loopback', () => {
    assert.equal(reachableHost('127.0.1.7', { ip: '127.0.0.1' }, localClient), '127.0.1.7');
    assert.equal(reachableHost('0.0.0.0', { ip: '127.0.0.1' }, localClient), '127.0.0.1');
    assert.equal(reachableHost('127.0.0.1', { ip: null }, { ip: null, localAddress: null }), '127.0.0.1');
  });

  test('nothing better known: the advertised host stays', () => {
    assert.equal(reachableHost('127.0.0.1', { ip: null }, { ip: '10.0.3.21', localAddress: null }), '127.0.0.1');
  });

  test('address helpers', () => {
    assert.equal(plainIp('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(plainIp('fe80::1'), 'fe80::1');
    assert.ok(isLoopback('127.9.9.9') && isLoopback('::1') && isLoopback('localhost') && isLoopback('[::1]'));
    assert.ok(!isLoopback('10.0.0.1') && !isLoopback('127.example'));
    assert.ok(isUnspecified('0.0.0.0') && isUnspecified('::') && !isUnspecified('10.0.0.1'));
  });
});

describe('macFor: which of a machine’s MACs to show', () => {
  test('the MAC paired with the address seen, when addresses and MACs come in pairs; else the first', () => {
    const machine = { ips: ['192.168.9.4', '10.0.3.21'], macs: ['AA:BB:CC:00:00:01', 'aa-bb-cc-00-00-02'] };
    assert.equal(macFor(machine, '10.0.3.21'), 'aa:bb:cc:00:00:02');
    assert.equal(macFor(machine, '10.9.9.9'), 'aa:bb:cc:00:00:01');
    assert.equal(
      macFor({ ips: ['10.0.3.21'], macs: ['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02'] }, '10.0.3.21'),
      'aa:bb:cc:00:00:01',
    );
    assert.equal(macFor({ ips: [], macs: [] }, '10.0.3.21'), null);
    assert.equal(macFor({ ips: [], macs: ['not a mac'] }, null), null);
    assert.equal(macFor(undefined, '10.0.3.21'), null);
  });
});

describe('assignments carry an address the client can reach (stub connections)', () => {
  test('the README seeder: on the coordinator’s host, listening on 0.0.0.0, advertising 127.0.0.1', () => {
    const h = new StateHarness();
    h.seeder('seed', 'lab', { ip: '127.0.0.1', host: '127.0.0.1' });
    const remote = h.peer('lab-1', 'lab', { ip: '10.0.3.21', local: '10.0.3.1' });
    const local = h.peer('lab-2', 'lab', { ip: '127.0.0.1', local: '127.0.0.1' });
    assert.equal(remote.conn.of('assign')[0]?.server.host, '10.0.3.1');
    assert.equal(local.conn.of('assign')[0]?.server.host, '127.0.0.1');
    const line = h.log.find((l) => l.msg === 'assigned' && l.fields.client === 'lab-1');
    assert.deepEqual([line?.fields.host, line?.fields.advertised], ['10.0.3.1', '127.0.0.1']);
  });

  test('an imaged peer that advertised 0.0.0.0 is dialled at the address it connected from', () => {
    const h = new StateHarness();
    h.seeder('seed', 'lab', { ip: '10.0.3.1', host: '10.0.3.1', capacity: 0 });
    const relay = h.peer('lab-1', 'lab', { ip: '10.0.3.21', local: '10.0.3.1' });
    h.imaged(relay.m);
    h.serve(relay.m, '0.0.0.0');
    const client = h.peer('lab-2', 'lab', { ip: '10.0.3.22', local: '10.0.3.1' });
    assert.deepEqual(client.conn.of('assign')[0]?.server, {
      id: 'lab-1',
      name: 'lab-1',
      host: '10.0.3.21',
      port: 7771,
    });
  });
});
