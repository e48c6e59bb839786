import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, FIXTURE_MODELS, type DaemonProcess } from '../support/daemon-process.js';
import { grpc, grpcClients, type GrpcClients, type Msg } from '../support/grpc-client.js';
import { parsePrometheus, sampleValue } from '../support/prom-parse.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

/**
 * Every RPC of modelmora.v1's three services and grpc.health.v1 against a real daemon (a child
 * process with a real runner), through a client built only from the repo's .proto files.
 * The tests share one daemon and run in order (load before unload, register before delete).
 */

const GLOVE = `${FIXTURE_MODELS}glove-2k`;
const MODEL = 'test/glove';
const HUB_MODEL = 'hub/glove';
const S = grpc.status;

interface Timestamp {
  seconds: number;
  nanos: number;
}
interface InferenceResponse {
  model_id: string;
  output_data: { data?: string; embedding?: { values: number[] }; embedding_batch?: { embeddings: Array<{ values: number[] }> } };
  metadata: { batch_size: number; device: string; total_time_ms: number; timestamp: Timestamp };
}
interface ModelStatus {
  model_id: string;
  state: string;
  memory_usage_mb: number;
  device: string;
  loaded_at: Timestamp | null;
  health_status: { healthy: boolean } | null;
}
interface Model {
  model_id: string;
  version: string;
  task_type: string;
  display_name: string;
  description: string;
  status: string;
  resource_requirements: { memory_mb: number };
  config: { fields: Record<string, { stringValue?: string; numberValue?: number }> };
  created_at: Timestamp;
}

describe('gRPC services against a real daemon', () => {
  let hub: TestHub;
  let daemon: DaemonProcess;
  let c: GrpcClients;

  before(async () => {
    hub = await startTestHub({ repos: { [HUB_MODEL]: { folder: GLOVE } } });
    daemon = await startDaemon({
      models: [{ id: MODEL, task: 'txt2embed', source: GLOVE }],
      env: { MODELMORA_HUB_URL: hub.url },
    });
    assert.ok(daemon.grpcPort && daemon.grpcPort > 0, 'the listening log line names the bound gRPC port');
    c = grpcClients(daemon.grpcPort);
  });

  after(async () => {
    c?.close();
    await daemon?.stop();
    await hub?.close();
  });

  const embed = async (text: string) =>
    (await c.call<InferenceResponse>('inference', 'Infer', { model_id: MODEL, input_data: { text } })).response.output_data.embedding!.values;

  describe('health', () => {
    test('grpc.health.v1 Check answers SERVING for the server and each service, NOT_FOUND for others', async () => {
      for (const service of ['', 'modelmora.v1.InferenceService', 'modelmora.v1.RegistryService', 'modelmora.v1.ManagementService']) {
        const { response } = await c.call('health', 'Check', { service });
        assert.equal(response['status'], 'SERVING', service);
      }
      const failure = await c.fail('health', 'Check', { service: 'other.Service' });
      assert.equal(failure.code, S.NOT_FOUND);
    });

    test('grpc.health.v1 Watch streams the current status first', async () => {
      const call = (c.health as unknown as { Watch(req: Msg): grpc.ClientReadableStream<Msg> }).Watch({ service: '' });
      const first = await new Promise<Msg>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
      });
      call.cancel();
      assert.equal(first['status'], 'SERVING');
    });

    test('LivenessCheck and ReadinessCheck', async () => {
      assert.equal((await c.call('management', 'LivenessCheck', {})).response['status'], 'ok');
      const { response } = await c.call('management', 'ReadinessCheck', {});
      assert.deepEqual(response, { status: 'ready', checks: { database: true, queue: true } });
    });
  });

  describe('lifecycle', () => {
    test('LoadModel loads the runner and answers its status', async () => {
      const before = Date.now() / 1000;
      const { response } = await c.call<ModelStatus>('management', 'LoadModel', { model_id: MODEL });
      assert.equal(response.model_id, MODEL);
      assert.equal(response.state, 'MODEL_STATE_LOADED');
      assert.equal(response.device, 'cpu');
      assert.ok(response.memory_usage_mb > 1, `runner RSS ${response.memory_usage_mb} MB`);
      assert.ok(response.loaded_at && response.loaded_at.seconds >= Math.floor(before) - 60, 'loaded_at is a recent Timestamp');
      assert.equal(response.health_status?.healthy, true);
      assert.equal((await daemon.runnerPids()).length, 1);
    });

    test('GetModelHealth and GetSystemStatus list the loaded model, as REST /status does', async () => {
      const health = (await c.call<{ healthy_count: number; unhealthy_count: number; models: ModelStatus[] }>('management', 'GetModelHealth', {})).response;
      assert.equal(health.healthy_count, 1);
      assert.equal(health.unhealthy_count, 0);
      assert.deepEqual(health.models.map((m) => m.model_id), [MODEL]);

      const status = (await c.call<Msg & { loaded_models: ModelStatus[]; memory: Record<string, number>; queue: Record<string, number> }>('management', 'GetSystemStatus', {})).response;
      const rest = (await (await fetch(`${daemon.api}/status`)).json()) as { version: string; memory: Record<string, number> };
      assert.equal(status['version'], rest.version);
      assert.equal(typeof status['uptime_seconds'], 'number');
      assert.equal(status.memory['threshold_mb'], rest.memory['threshold_mb']);
      assert.equal(status.memory['total_mb'], rest.memory['total_mb']);
      assert.deepEqual(status.loaded_models.map((m) => [m.model_id, m.state]), [[MODEL, 'MODEL_STATE_LOADED']]);
      assert.deepEqual(status.queue, { high_priority: 0, medium_priority: 0, low_priority: 0 });
      assert.deepEqual(status['gpu'], { available: false, devices: [] });
    });

    test('UnloadModel stops the runner; a second one is FAILED_PRECONDITION MODEL_NOT_LOADED', async () => {
      const { response } = await c.call('management', 'UnloadModel', { model_id: MODEL });
      assert.deepEqual(response, { model_id: MODEL, unloaded: true });
      const status = (await c.call<{ loaded_models: ModelStatus[] }>('management', 'GetSystemStatus', {})).response;
      assert.deepEqual(status.loaded_models, []);
      const again = await c.fail('management', 'UnloadModel', { model_id: MODEL });
      assert.equal(again.code, S.FAILED_PRECONDITION);
      assert.equal(again.trailers['error_code'], 'MODEL_NOT_LOADED');
    });
  });

  describe('inference', () => {
    test('Infer: a text gives one embedding, a text_batch one per text, equal to the single answers', async () => {
      const texts = ['the market fell today', 'a cat sat on the mat', 'rain in the city'];
      const single = await Promise.all(texts.map(embed));
      assert.equal(single[0]!.length, 100);
      const { response, trailers } = await c.call<InferenceResponse>('inference', 'Infer', {
        model_id: MODEL,
        input_data: { text_batch: { texts } },
        priority: 'PRIORITY_HIGH',
        timeout_seconds: 30,
        request_id: 'batch-1',
      });
      assert.equal(response.output_data.data, 'embedding_batch');
      assert.deepEqual(response.output_data.embedding_batch!.embeddings.map((e) => e.values), single);
      assert.equal(response.metadata.device, 'cpu');
      assert.ok(response.metadata.batch_size >= 3);
      assert.ok(response.metadata.timestamp.seconds > 1_700_000_000);
      assert.match(trailers['trace_id'] ?? '', /^[0-9a-f-]{36}$/);
    });

    test('the same text gives the same embedding over REST and gRPC', async () => {
      const text = 'stock markets fell sharply on monday';
      const viaGrpc = await embed(text);
      const res = await fetch(`${daemon.api}/infer/${encodeURIComponent(MODEL)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input_data: { text } }),
      });
      assert.equal(res.status, 200);
      const viaRest = ((await res.json()) as { output_data: { embedding: number[] } }).output_data.embedding;
      assert.equal(viaRest.length, viaGrpc.length);
      // REST prints each float32 with the fewest digits that round-trip it; gRPC sends the float32 itself.
      const maxDiff = Math.max(...viaRest.map((v, i) => Math.abs(Math.fround(v) - viaGrpc[i]!)));
      assert.equal(maxDiff, 0);
    });

    test('NOT_FOUND and INVALID_ARGUMENT carry error_code and trace_id in the trailers', async () => {
      const traceId = '0b7c3f4e-5d6a-4b8c-9d0e-1f2a3b4c5d6e';
      const unknown = await c.fail('inference', 'Infer', { model_id: 'nobody/nothing', input_data: { text: 'hi' } });
      assert.equal(unknown.code, S.NOT_FOUND);
      assert.equal(unknown.trailers['error_code'], 'MODEL_NOT_FOUND');
      assert.match(unknown.trailers['trace_id'] ?? '', /^[0-9a-f-]{36}$/);

      const badId = await c.call('inference', 'Infer', { model_id: '../etc', input_data: { text: 'hi' } }, { metadata: { 'x-trace-id': traceId } }).catch((e: Error & { code: number; trailers: Record<string, string> }) => e);
      assert.ok(!('response' in badId));
      assert.equal(badId.code, S.INVALID_ARGUMENT);
      assert.equal(badId.trailers['error_code'], 'INVALID_MODEL_ID');
      assert.equal(badId.trailers['trace_id'], traceId, 'a uuid x-trace-id is kept');

      const empty = await c.fail('inference', 'Infer', { model_id: MODEL, input_data: { text: '' } });
      assert.equal(empty.code, S.INVALID_ARGUMENT);
      assert.equal(empty.trailers['error_code'], 'VALIDATION_ERROR');
      assert.deepEqual(JSON.parse(empty.trailers['validation_errors'] ?? '[]'), [{ field: 'input_data.text', message: 'must not be empty' }]);
      assert.match(empty.details, /input_data\.text must not be empty/);

      const noInput = await c.fail('inference', 'Infer', { model_id: MODEL });
      assert.equal(noInput.trailers['error_code'], 'VALIDATION_ERROR');
      const badTimeout = await c.fail('inference', 'Infer', { model_id: MODEL, input_data: { text: 'hi' }, timeout_seconds: 601 });
      assert.equal(badTimeout.code, S.INVALID_ARGUMENT);
      assert.deepEqual(JSON.parse(badTimeout.trailers['validation_errors'] ?? '[]').map((e: { field: string }) => e.field), ['timeout_seconds']);
      const image = await c.fail('inference', 'Infer', { model_id: MODEL, input_data: { image: Buffer.from([1, 2, 3]) } });
      assert.equal(image.trailers['error_code'], 'INVALID_INPUT', 'a text model refuses an image');
    });

    test('DEADLINE_EXCEEDED with error_code while the runner is held busy: timeout_seconds and the call deadline', async () => {
      await embed('warm up the runner');
      const [runner] = await daemon.runnerPids();
      assert.ok(runner);
      process.kill(runner, 'SIGSTOP');
      try {
        const byTimeout = await c.fail('inference', 'Infer', { model_id: MODEL, input_data: { text: 'never answered in time' }, timeout_seconds: 1 });
        assert.equal(byTimeout.code, S.DEADLINE_EXCEEDED);
        assert.equal(byTimeout.trailers['error_code'], 'INFERENCE_TIMEOUT');
        // No timeout_seconds (default 60 s): the call's own deadline bounds the request, and the
        // server answers just before it so the reason reaches the caller.
        const byDeadline = await c.fail('inference', 'Infer', { model_id: MODEL, input_data: { text: 'never answered either' } }, { deadline: Date.now() + 2500 });
        assert.equal(byDeadline.code, S.DEADLINE_EXCEEDED);
        assert.equal(byDeadline.trailers['error_code'], 'INFERENCE_TIMEOUT');
      } finally {
        process.kill(runner, 'SIGCONT');
      }
      assert.equal((await embed('answered again')).length, 100);
      const metrics = parsePrometheus(await (await fetch(`${daemon.url}/metrics`)).text());
      assert.equal(sampleValue(metrics, 'modelmora_requests_total', { model_id: MODEL, status: 'timeout' }), 2);
      assert.ok(sampleValue(metrics, 'modelmora_requests_total', { model_id: MODEL, status: 'invalid' }) >= 4);
      assert.ok(sampleValue(metrics, 'modelmora_requests_total', { model_id: MODEL, status: 'success' }) >= 8);
    });

    test('InferAsync runs a durable job: GetJobStatus until completed, GetJobResult equals Infer, CancelJob of a finished job', async () => {
      const text = 'a job that runs later';
      const ref = (await c.call<{ job_id: string; status: string; created_at: Timestamp }>('inference', 'InferAsync', { model_id: MODEL, input_data: { text }, priority: 'PRIORITY_LOW' })).response;
      assert.match(ref.job_id, /^[0-9a-f-]{36}$/);
      assert.ok(['JOB_STATUS_QUEUED', 'JOB_STATUS_PROCESSING', 'JOB_STATUS_COMPLETED'].includes(ref.status), ref.status);
      assert.ok(ref.created_at.seconds > 1_700_000_000);
      let status: Msg = {};
      for (let i = 0; i < 200 && status['status'] !== 'JOB_STATUS_COMPLETED' && status['status'] !== 'JOB_STATUS_FAILED'; i++) {
        status = (await c.call('inference', 'GetJobStatus', { job_id: ref.job_id })).response;
        if (status['status'] !== 'JOB_STATUS_COMPLETED') await sleep(50);
      }
      assert.equal(status['status'], 'JOB_STATUS_COMPLETED');
      assert.equal(status['model_id'], MODEL);
      assert.equal(status['progress'], 100);
      assert.ok((status['completed_at'] as Timestamp).seconds >= ref.created_at.seconds);
      const result = (await c.call<InferenceResponse>('inference', 'GetJobResult', { job_id: ref.job_id })).response;
      assert.deepEqual(result.output_data.embedding!.values, await embed(text));
      const finished = await c.fail('inference', 'CancelJob', { job_id: ref.job_id });
      assert.equal(finished.code, S.FAILED_PRECONDITION);
      assert.equal(finished.trailers['error_code'], 'JOB_ALREADY_FINISHED');
      const unknown = await c.fail('inference', 'GetJobStatus', { job_id: '00000000-0000-4000-8000-000000000000' });
      assert.equal(unknown.code, S.NOT_FOUND);
      assert.equal(unknown.trailers['error_code'], 'JOB_NOT_FOUND');
      assert.equal((await c.fail('inference', 'GetJobResult', { job_id: 'not-a-uuid' })).code, S.INVALID_ARGUMENT);
    });
  });

  describe('registry', () => {
    test('RegisterModel echoes the model; a duplicate is ALREADY_EXISTS, a missing task INVALID_ARGUMENT', async () => {
      const { response } = await c.call<Model>('registry', 'RegisterModel', {
        model_id: HUB_MODEL,
        task_type: 'TASK_TYPE_TXT2EMBED',
        display_name: 'GloVe from the hub',
        resource_requirements: { memory_mb: 256 },
        config: { fields: { pooling: { stringValue: 'mean' }, max_length: { numberValue: 64 } } },
      });
      assert.equal(response.model_id, HUB_MODEL);
      assert.equal(response.version, 'main');
      assert.equal(response.task_type, 'TASK_TYPE_TXT2EMBED');
      assert.equal(response.display_name, 'GloVe from the hub');
      assert.equal(response.status, 'registered');
      assert.equal(response.resource_requirements.memory_mb, 256);
      assert.equal(response.config.fields['pooling']?.stringValue, 'mean');
      assert.equal(response.config.fields['max_length']?.numberValue, 64);

      const dup = await c.fail('registry', 'RegisterModel', { model_id: HUB_MODEL, task_type: 'TASK_TYPE_TXT2EMBED' });
      assert.equal(dup.code, S.ALREADY_EXISTS);
      assert.equal(dup.trailers['error_code'], 'MODEL_ALREADY_EXISTS');
      const noTask = await c.fail('registry', 'RegisterModel', { model_id: 'org/other' });
      assert.equal(noTask.code, S.INVALID_ARGUMENT);
      assert.equal(noTask.trailers['error_code'], 'VALIDATION_ERROR');
      const http = await c.fail('registry', 'RegisterModel', { model_id: 'org/other', task_type: 'TASK_TYPE_TXT2EMBED', source_url: 'http://example.com/x' });
      assert.equal(http.trailers['error_code'], 'URL_NOT_ALLOWED');
    });

    test('ListModels pages and filters; GetModel and UpdateModel', async () => {
      const all = (await c.call<{ models: Model[]; pagination: Msg }>('registry', 'ListModels', {})).response;
      assert.deepEqual(all.models.map((m) => m.model_id), [HUB_MODEL, MODEL]);
      assert.deepEqual(all.pagination, { total: 2, page: 1, page_size: 20, total_pages: 1 });
      const registered = (await c.call<{ models: Model[] }>('registry', 'ListModels', { status: 'registered' })).response;
      assert.deepEqual(registered.models.map((m) => m.model_id), [HUB_MODEL]);
      const second = (await c.call<{ models: Model[]; pagination: Msg }>('registry', 'ListModels', { pagination: { page: 2, page_size: 1 } })).response;
      assert.deepEqual(second.models.map((m) => m.model_id), [MODEL]);
      assert.deepEqual(second.pagination, { total: 2, page: 2, page_size: 1, total_pages: 2 });
      assert.equal((await c.fail('registry', 'ListModels', { pagination: { page_size: 101 } })).code, S.INVALID_ARGUMENT);

      const got = (await c.call<Model>('registry', 'GetModel', { model_id: MODEL })).response;
      assert.equal(got.status, 'ready');
      const updated = (await c.call<Model>('registry', 'UpdateModel', { model_id: HUB_MODEL, description: 'bag of words' })).response;
      assert.equal(updated.description, 'bag of words');
      assert.equal(updated.display_name, 'GloVe from the hub', 'an empty field leaves the value as it was');
      assert.equal((await c.fail('registry', 'GetModel', { model_id: 'no/such' })).trailers['error_code'], 'MODEL_NOT_FOUND');
    });

    test('DownloadModel fetches from the hub in the background; the model then serves the same embedding', async () => {
      const { response } = await c.call('registry', 'DownloadModel', { model_id: HUB_MODEL });
      assert.equal(response['status'], 'downloading');
      let status = '';
      for (let i = 0; i < 200 && status !== 'ready' && status !== 'failed'; i++) {
        status = (await c.call<Model>('registry', 'GetModel', { model_id: HUB_MODEL })).response.status;
        if (status !== 'ready') await sleep(100);
      }
      assert.equal(status, 'ready');
      const text = 'the same files give the same vectors';
      const fromHub = (await c.call<InferenceResponse>('inference', 'Infer', { model_id: HUB_MODEL, input_data: { text } })).response;
      assert.deepEqual(fromHub.output_data.embedding!.values, await embed(text));
    });

    test('GenerateLock pins every model to a commit with a checksum', async () => {
      const { response } = await c.call<{ version: string; generated_at: Timestamp; models: Msg[] }>('registry', 'GenerateLock', {});
      assert.ok(response.generated_at.seconds > 1_700_000_000);
      const hubEntry = response.models.find((m) => m['model_id'] === HUB_MODEL);
      assert.ok(hubEntry, JSON.stringify(response.models));
      assert.equal(hubEntry['version'], hub.commitOf(HUB_MODEL));
      assert.equal(hubEntry['task_type'], 'TASK_TYPE_TXT2EMBED');
      assert.match(String(hubEntry['checksum']), /[0-9a-f]{64}/);
    });

    test('DeleteModel of a loaded model needs force; then the model is gone', async () => {
      const inUse = await c.fail('registry', 'DeleteModel', { model_id: HUB_MODEL });
      assert.equal(inUse.code, S.FAILED_PRECONDITION);
      assert.equal(inUse.trailers['error_code'], 'MODEL_IN_USE');
      const { response } = await c.call('registry', 'DeleteModel', { model_id: HUB_MODEL, force: true });
      assert.deepEqual(response, { model_id: HUB_MODEL, deleted: true });
      assert.equal((await c.fail('registry', 'GetModel', { model_id: HUB_MODEL })).code, S.NOT_FOUND);
      const left = (await c.call<{ models: Model[] }>('registry', 'ListModels', {})).response;
      assert.deepEqual(left.models.map((m) => m.model_id), [MODEL]);
    });
  });
});

describe('gRPC turned off', () => {
  test('grpc: false serves REST only and names no gRPC port', async () => {
    const daemon = await startDaemon({ server: { grpc: false } });
    try {
      assert.equal(daemon.grpcPort, undefined);
      const listening = daemon.logs.find((l) => l['msg'] === 'modelmora listening');
      assert.equal(listening?.['grpc_port'], null);
      assert.equal((await fetch(`${daemon.url}/health/ready`)).status, 200);
    } finally {
      assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
    }
  });
});
