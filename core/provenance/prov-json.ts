import type { ProvenanceRecord } from './record';

/**
 * The run record as a W3C PROV-JSON document (Huynh, Jewell, Keshavarz, Michaelides, Yang &
 * Moreau, "The PROV-JSON Serialization", W3C Member Submission 2013): entities (spec, models,
 * dataset, every artifact), activities (the run, its stages and every cell), agents (the user,
 * Tempest and each worker) and the relations between them, so any PROV tool can load it.
 */
export interface ProvJsonDocument {
  readonly prefix: Record<string, string>;
  readonly entity: Record<string, Record<string, unknown>>;
  readonly activity: Record<string, Record<string, unknown>>;
  readonly agent: Record<string, Record<string, unknown>>;
  readonly used: Record<string, Record<string, unknown>>;
  readonly wasGeneratedBy: Record<string, Record<string, unknown>>;
  readonly wasAssociatedWith: Record<string, Record<string, unknown>>;
  readonly wasDerivedFrom: Record<string, Record<string, unknown>>;
  readonly wasInformedBy: Record<string, Record<string, unknown>>;
  readonly actedOnBehalfOf: Record<string, Record<string, unknown>>;
}

export const TEMPEST_NAMESPACE = 'https://github.com/tempest-bench/tempest/ns/prov#';

const typed = (value: string | number, type: string) => ({ $: String(value), type });
const int = (value: number) => typed(value, 'xsd:long');
const artifactId = (sha256: string) => `sha256:${sha256}`;
/** PROV qualified names allow letters, digits and a few marks; worker identities have '@' and '/'. */
const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, '_');

export function toProvJson(record: ProvenanceRecord): ProvJsonDocument {
  const entity: ProvJsonDocument['entity'] = {};
  const activity: ProvJsonDocument['activity'] = {};
  const agent: ProvJsonDocument['agent'] = {};
  const used: ProvJsonDocument['used'] = {};
  const wasGeneratedBy: ProvJsonDocument['wasGeneratedBy'] = {};
  const wasAssociatedWith: ProvJsonDocument['wasAssociatedWith'] = {};
  const wasDerivedFrom: ProvJsonDocument['wasDerivedFrom'] = {};
  const wasInformedBy: ProvJsonDocument['wasInformedBy'] = {};
  const actedOnBehalfOf: ProvJsonDocument['actedOnBehalfOf'] = {};
  let relation = 0;
  const id = (kind: string) => `_:${kind}${++relation}`;

  const run = `tempest:run/${safe(record.run.workflowId)}`;
  const user = `tempest:user/${safe(record.environment.user)}`;
  const software = `tempest:software/tempest-${safe(record.environment.tempest)}`;
  agent[user] = {
    'prov:type': typed('prov:Person', 'prov:QUALIFIED_NAME'),
    'tempest:name': record.environment.user,
  };
  agent[software] = {
    'prov:type': typed('prov:SoftwareAgent', 'prov:QUALIFIED_NAME'),
    'tempest:version': record.environment.tempest,
    'tempest:node': record.environment.node,
    'tempest:runtime': record.runtime.id,
    'tempest:packages': JSON.stringify(record.environment.packages),
    'tempest:os': `${record.environment.platform} ${record.environment.osRelease} ${record.environment.arch}`,
    'tempest:cpu': `${record.environment.cpuModel} x${record.environment.cpuCount}`,
    'tempest:memoryBytes': int(record.environment.totalMemoryBytes),
    'tempest:host': record.environment.hostname,
  };

  const spec = `tempest:spec/${record.spec.sha256}`;
  entity[spec] = {
    'prov:type': 'tempest:BenchmarkSpec',
    'prov:label': record.spec.name,
    'tempest:sha256': record.spec.sha256,
    'tempest:source': record.spec.source,
  };
  const dataset = `tempest:dataset/${record.dataset.hash}`;
  entity[dataset] = {
    'prov:type': 'tempest:Dataset',
    'tempest:hash': record.dataset.hash,
    'tempest:samples': int(record.dataset.samples),
    'tempest:lineage': JSON.stringify(record.dataset.lineage),
  };
  for (const model of record.models) {
    entity[artifactId(model.sha256)] = {
      'prov:type': 'tempest:Model',
      'prov:label': model.id,
      'tempest:path': model.path,
      'tempest:sha256': model.sha256,
      'tempest:size': int(model.size),
    };
  }
  for (const artifact of record.artifacts.list ?? []) {
    const existing = entity[artifactId(artifact.sha256)];
    entity[artifactId(artifact.sha256)] = {
      ...existing,
      'prov:type': existing?.['prov:type'] ?? `tempest:${artifact.role}`,
      'prov:label': existing?.['prov:label'] ?? artifact.label,
      'tempest:sha256': artifact.sha256,
      'tempest:size': int(artifact.size),
      'tempest:mediaType': artifact.mediaType,
    };
    if (artifact.role === 'dataset-inputs' || artifact.role === 'dataset-labels') {
      wasDerivedFrom[id('d')] = {
        'prov:generatedEntity': dataset,
        'prov:usedEntity': artifactId(artifact.sha256),
      };
    }
  }

  activity[run] = {
    'prov:startTime': record.run.startedAt,
    'prov:endTime': record.run.finishedAt,
    'prov:type': 'tempest:BenchmarkRun',
    'tempest:executor': record.run.executor,
    'tempest:runId': record.run.runId,
    'tempest:namespace': record.run.namespace,
    'tempest:taskQueue': record.run.taskQueue,
    'tempest:seeds': record.seeds.join(','),
    'tempest:modules': record.modules.join(','),
    'tempest:threads': `intra ${record.runtime.intraOpThreads}, inter ${record.runtime.interOpThreads}`,
    'tempest:batchSize': int(record.runtime.batchSize),
    ...(record.artifacts.merkleRoot && { 'tempest:merkleRoot': record.artifacts.merkleRoot }),
    ...(record.nondeterminism.length > 0 && { 'tempest:nondeterminism': record.nondeterminism.join('; ') }),
  };
  wasAssociatedWith[id('a')] = { 'prov:activity': run, 'prov:agent': user };
  wasAssociatedWith[id('a')] = { 'prov:activity': run, 'prov:agent': software };
  used[id('u')] = { 'prov:activity': run, 'prov:entity': spec };
  used[id('u')] = { 'prov:activity': run, 'prov:entity': dataset };
  for (const model of record.models)
    used[id('u')] = { 'prov:activity': run, 'prov:entity': artifactId(model.sha256) };

  // Stages: resolve makes the plan; cells make results and logits; aggregate makes results.json.
  const resolve = `${run}/resolve`;
  const aggregate = `${run}/aggregate`;
  const finalize = `${run}/finalize`;
  for (const [stage, label] of [
    [resolve, 'resolve'],
    [aggregate, 'aggregate'],
    [finalize, 'finalize'],
  ] as const) {
    activity[stage] = { 'prov:type': 'tempest:Stage', 'prov:label': label };
    wasInformedBy[id('i')] = { 'prov:informed': stage, 'prov:informant': run };
  }
  used[id('u')] = { 'prov:activity': resolve, 'prov:entity': spec };
  wasGeneratedBy[id('g')] = {
    'prov:entity': artifactId(record.artifacts.plan.sha256),
    'prov:activity': resolve,
  };
  wasGeneratedBy[id('g')] = {
    'prov:entity': artifactId(record.artifacts.results.sha256),
    'prov:activity': aggregate,
  };
  if (record.artifacts.report) {
    wasGeneratedBy[id('g')] = {
      'prov:entity': artifactId(record.artifacts.report.sha256),
      'prov:activity': finalize,
    };
    used[id('u')] = { 'prov:activity': finalize, 'prov:entity': artifactId(record.artifacts.results.sha256) };
  }

  const logitsOf = new Map(
    (record.artifacts.list ?? [])
      .filter((artifact) => artifact.role === 'logits')
      .map((artifact) => [artifact.label, artifact.sha256]),
  );
  const workers = new Set<string>();
  for (const cell of record.cells) {
    const cellId = `${run}/cell/${cell.index}`;
    const worker = `tempest:worker/${safe(cell.worker)}`;
    if (!workers.has(worker)) {
      workers.add(worker);
      agent[worker] = {
        'prov:type': typed('prov:SoftwareAgent', 'prov:QUALIFIED_NAME'),
        'tempest:identity': cell.worker,
      };
      actedOnBehalfOf[id('b')] = { 'prov:delegate': worker, 'prov:responsible': user };
    }
    activity[cellId] = {
      'prov:startTime': cell.startedAt,
      'prov:endTime': cell.finishedAt,
      'prov:type': 'tempest:Cell',
      'tempest:key': cell.key,
      'tempest:cached': cell.cached,
      'tempest:attempt': int(cell.attempt),
      'tempest:computeMs': int(cell.computeMs),
      ...(cell.cpuMs !== undefined && { 'tempest:cpuMs': int(cell.cpuMs) }),
      ...(cell.peakRssBytes !== undefined && { 'tempest:peakRssBytes': int(cell.peakRssBytes) }),
    };
    wasInformedBy[id('i')] = { 'prov:informed': cellId, 'prov:informant': resolve };
    wasInformedBy[id('i')] = { 'prov:informed': aggregate, 'prov:informant': cellId };
    wasAssociatedWith[id('a')] = { 'prov:activity': cellId, 'prov:agent': worker };
    used[id('u')] = { 'prov:activity': cellId, 'prov:entity': artifactId(record.artifacts.plan.sha256) };
    const result = artifactId(cell.result);
    wasGeneratedBy[id('g')] = {
      'prov:entity': result,
      'prov:activity': cellId,
      'prov:time': cell.finishedAt,
    };
    wasDerivedFrom[id('d')] = {
      'prov:generatedEntity': artifactId(record.artifacts.results.sha256),
      'prov:usedEntity': result,
    };
    const logits = logitsOf.get(`cell ${cell.index}`);
    if (logits) wasGeneratedBy[id('g')] = { 'prov:entity': artifactId(logits), 'prov:activity': cellId };
  }
  const first = record.cells.reduce<string | undefined>(
    (min, cell) => (min === undefined || cell.startedAt < min ? cell.startedAt : min),
    undefined,
  );
  const last = record.cells.reduce<string | undefined>(
    (max, cell) => (max === undefined || cell.finishedAt > max ? cell.finishedAt : max),
    undefined,
  );
  activity[resolve]['prov:startTime'] = record.run.startedAt;
  if (first) activity[resolve]['prov:endTime'] = first;
  if (last) activity[aggregate]['prov:startTime'] = last;
  activity[finalize]['prov:endTime'] = record.run.finishedAt;

  return {
    prefix: {
      tempest: TEMPEST_NAMESPACE,
      sha256: 'urn:sha256:',
      xsd: 'http://www.w3.org/2001/XMLSchema#',
    },
    entity,
    activity,
    agent,
    used,
    wasGeneratedBy,
    wasAssociatedWith,
    wasDerivedFrom,
    wasInformedBy,
    actedOnBehalfOf,
  };
}
