import { describe, expect, it } from 'vitest';
import { parseFlags, type SpeakerOptions } from '../../../speaker/flags.ts';

const base = ['--key-file', '/etc/portico/speaker/key'];
const env = { NODE_NAME: 'node-a' };

function ok(argv: string[], e: NodeJS.ProcessEnv = env): SpeakerOptions {
  const r = parseFlags(argv, e);
  if (!r.ok) throw new Error(r.error);
  if (r.help) throw new Error('help');
  return r.options;
}
function err(argv: string[], e: NodeJS.ProcessEnv = env): string {
  const r = parseFlags(argv, e);
  if (r.ok) throw new Error(`accepted ${argv.join(' ')}`);
  return r.error;
}

describe('speaker flags', () => {
  it('defaults match the chart and the issue', () => {
    expect(ok(base)).toEqual({
      kubeconfig: undefined,
      nodeName: 'node-a',
      namespace: 'portico-system',
      lbClass: 'portico.dev/lb',
      handleUnclassed: true,
      keyFile: '/etc/portico/speaker/key',
      heartbeatPort: 7472,
      heartbeatIntervalMs: 100,
      missedBeats: 3,
      heartbeatAddress: undefined,
      garpRefreshMs: 60_000,
      garpBurstMs: [0, 100, 500, 1000, 2000],
      partitionPolicy: 'hold',
      ignoreExcludeLabel: false,
      bgp: false,
      peerLeaseDurationMs: 60_000,
      metricsAddress: ':7473',
      logLevel: 'info',
    } satisfies SpeakerOptions);
  });

  it('accepts exactly what the Helm chart passes', () => {
    const o = ok(
      [
        '--namespace=portico',
        '--lb-class=example.com/lb',
        '--handle-unclassed=false',
        '--heartbeat-port=7000',
        '--heartbeat-interval=50ms',
        '--missed-beats=5',
        '--garp-refresh=30s',
        '--key-file=/k',
        '--metrics-address=:9000',
        '--log-level=debug',
        '--ignore-exclude-label',
        '--bgp',
      ],
      { NODE_NAME: 'n1' },
    );
    expect(o).toMatchObject({
      namespace: 'portico',
      lbClass: 'example.com/lb',
      handleUnclassed: false,
      heartbeatPort: 7000,
      heartbeatIntervalMs: 50,
      missedBeats: 5,
      garpRefreshMs: 30_000,
      keyFile: '/k',
      metricsAddress: ':9000',
      logLevel: 'debug',
      ignoreExcludeLabel: true,
      bgp: true,
      nodeName: 'n1',
    });
  });

  it('flags win over the environment; environment over defaults', () => {
    expect(ok([...base, '--node-name', 'x'], { NODE_NAME: 'y' }).nodeName).toBe('x');
    expect(ok(base, { NODE_NAME: 'y', POD_NAMESPACE: 'ns1' }).namespace).toBe('ns1');
    expect(ok([...base, '--namespace', 'ns2'], { NODE_NAME: 'y', POD_NAMESPACE: 'ns1' }).namespace).toBe(
      'ns2',
    );
    expect(ok(base, { NODE_NAME: 'y', NODE_IP: '192.0.2.5' }).heartbeatAddress).toBe('192.0.2.5');
    expect(ok([...base, '--heartbeat-address', '2001:DB8::1'], { NODE_NAME: 'y' }).heartbeatAddress).toBe(
      '2001:db8::1',
    );
  });

  it('an empty metrics address turns the server off', () => {
    expect(ok([...base, '--metrics-address='], env).metricsAddress).toBe('');
  });

  it('custom burst and partition policy', () => {
    const o = ok([...base, '--garp-burst', '0,50ms,1s', '--partition-policy', 'announce-all']);
    expect(o.garpBurstMs).toEqual([0, 50, 1000]);
    expect(o.partitionPolicy).toBe('announce-all');
    expect(ok([...base, '--garp-refresh', '0']).garpRefreshMs).toBe(0);
  });

  it.each([
    [[], /--key-file is required/],
    [['--key-file', ''], /--key-file is required/],
    [[...base, '--bogus'], /bogus/],
    [[...base, '--heartbeat-port', '0'], /heartbeat-port/],
    [[...base, '--heartbeat-port', '70000'], /heartbeat-port/],
    [[...base, '--heartbeat-interval', '100'], /not a duration/],
    [[...base, '--heartbeat-interval', '1ms'], /heartbeat-interval/],
    [[...base, '--missed-beats', '0'], /missed-beats/],
    [[...base, '--missed-beats', 'x'], /missed-beats/],
    [[...base, '--garp-refresh', '100ms'], /garp-refresh/],
    [[...base, '--garp-burst', '1s,0'], /ascending/],
    [[...base, '--garp-burst', '0,,1s'], /garp-burst/],
    [[...base, '--handle-unclassed', 'maybe'], /handle-unclassed/],
    [[...base, '--lb-class', 'nope'], /lb-class/],
    [[...base, '--heartbeat-address', 'node-a'], /not an IP/],
    [[...base, '--partition-policy', 'grab'], /partition-policy/],
    [[...base, '--log-level', 'loud'], /log level/],
    [[...base, '--metrics-address', 'nonsense'], /metrics-address/],
    [[...base, '--namespace', 'Bad_NS'], /namespace/],
    [[...base, '--peer-lease-duration', '1s'], /peer-lease-duration/],
    [[...base, '--ignore-exclude-label=true'], /ignore-exclude-label/],
  ])('rejects %j', (argv, re) => {
    expect(err(argv)).toMatch(re);
  });

  it('requires a node name', () => {
    expect(err(base, {})).toMatch(/--node-name is required/);
    expect(err([...base, '--node-name', 'UPPER'], {})).toMatch(/not a valid node name/);
  });

  it('help needs nothing else', () => {
    expect(parseFlags(['--help'], {})).toEqual({ ok: true, help: true });
    expect(parseFlags(['-h'], {})).toEqual({ ok: true, help: true });
  });
});
