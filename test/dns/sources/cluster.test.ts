// The discovery request path of the Kubernetes sources against a scripted apiserver (nock).
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { discoverGatewayApi } from '../../../dns/sources/cluster.ts';
import { api, fakeClient } from '../../lib/kube/support.ts';

const GROUP = '/apis/gateway.networking.k8s.io';
const groupDoc = {
  kind: 'APIGroup',
  name: 'gateway.networking.k8s.io',
  versions: [
    { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' },
    { groupVersion: 'gateway.networking.k8s.io/v1beta1', version: 'v1beta1' },
  ],
  preferredVersion: { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' },
};
const r = (name: string, kind: string) => ({ name, kind, namespaced: true, verbs: ['list', 'watch'] });

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('discoverGatewayApi', () => {
  test('group not installed (404): nothing to watch, no error', async () => {
    api().get(GROUP).reply(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    expect((await discoverGatewayApi(fakeClient())).size).toBe(0);
  });

  test('kinds at the preferred version; a version that vanished meanwhile is skipped', async () => {
    api().get(GROUP).reply(200, groupDoc);
    api()
      .get(`${GROUP}/v1`)
      .reply(200, { resources: [r('gateways', 'Gateway'), r('httproutes', 'HTTPRoute')] });
    api().get(`${GROUP}/v1beta1`).reply(404, {});
    const got = await discoverGatewayApi(fakeClient());
    expect([...got.keys()].sort()).toEqual(['Gateway', 'HTTPRoute']);
    expect(got.get('HTTPRoute')).toMatchObject({ version: 'v1', plural: 'httproutes' });
  });

  test('other failures are thrown (the caller keeps its current informers and retries)', async () => {
    api().get(GROUP).reply(503, { kind: 'Status', code: 503 });
    await expect(discoverGatewayApi(fakeClient())).rejects.toMatchObject({ statusCode: 503 });
    api().get(GROUP).reply(200, groupDoc);
    api().get(`${GROUP}/v1`).reply(403, { kind: 'Status', code: 403 });
    await expect(discoverGatewayApi(fakeClient())).rejects.toMatchObject({ statusCode: 403 });
  });
});
