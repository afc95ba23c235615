import { ConfigError } from '../config-values.ts';
import { followClientRequests } from './http-client.ts';
import { setTracing } from './spans.ts';

/**
 * OpenTelemetry's start-up. The standard `OTEL_*` variables configure it (they are OpenTelemetry's,
 * not course-sync settings; docs/observability.md). Off unless `OTEL_TRACES_EXPORTER=otlp`: then the
 * SDK and the chosen OTLP exporter are loaded (dynamic import, so a service without tracing never
 * loads them) and registered globally; the exporter itself reads the endpoint, headers, timeout and
 * compression variables, the SDK the sampler and batch-processor ones.
 */

export type OtlpProtocol = 'http/json' | 'http/protobuf';

export interface TelemetrySettings {
  enabled: boolean;
  protocol: OtlpProtocol;
}

const PROTOCOLS: OtlpProtocol[] = ['http/json', 'http/protobuf'];

/** The service name when OTEL_SERVICE_NAME does not give one. */
export const SERVICE_NAME = 'course-sync';

/** The tracing settings `env` asks for; a value course-sync cannot honour stops start-up, naming the variable. */
export function telemetrySettings(env: Record<string, string | undefined>): TelemetrySettings {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unknown.length)
    throw new ConfigError('OTEL_TRACES_EXPORTER', `expected otlp or none, got "${unknown.join(',')}"`);
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  const enabled = exporters.includes('otlp') && !disabled;
  let protocol: OtlpProtocol = 'http/protobuf';
  for (const key of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = env[key]?.trim();
    if (!value) continue;
    if (!(PROTOCOLS as string[]).includes(value))
      throw new ConfigError(
        key,
        `expected http/protobuf or http/json, got "${value}"${value === 'grpc' ? ' (gRPC is not bundled)' : ''}`,
      );
    protocol = value as OtlpProtocol;
    break;
  }
  for (const key of ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
    const value = env[key]?.trim();
    if (value && !/^https?:\/\/[^/]/i.test(value))
      throw new ConfigError(key, `expected an http:// or https:// URL, got "${value}"`);
  }
  return { enabled, protocol };
}

/** A registered tracer provider: `shutdown` exports the spans still buffered, then unregisters it. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Registers the SDK for a process in `role` (OTLP exporter of `settings.protocol`, batch span
 * processor, W3C trace context) with the resource `service.name` course-sync (or OTEL_SERVICE_NAME)
 * and `course_sync.role`; undefined when tracing is off.
 */
export async function startTelemetry(settings: TelemetrySettings, role: string): Promise<Telemetry | undefined> {
  if (!settings.enabled) return undefined;
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { defaultResource, detectResources, envDetector, resourceFromAttributes },
    { trace, context, propagation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/api'),
  ]);
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the defaults given here.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': SERVICE_NAME, 'course_sync.role': role }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  const unfollow = followClientRequests();
  setTracing(true);
  return {
    shutdown: async () => {
      setTracing(false);
      unfollow();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
