import type { ModelConfig } from './config.ts';
import { DEMO_MODEL } from './demo.ts';
import { isProviderName, PROVIDERS, providerForModel, type ProviderName, type Wire } from './providers.ts';

/**
 * Chooses provider, model and credentials for one run. Rules, in order:
 *
 *  1. Model: the run request's `model`, else the space's `ai_model`, else TAKOS_DEFAULT_MODEL, else the provider's
 *     default. Passed through as given (trimmed): unlike the original, which rewrote anything outside its three
 *     gpt-5.4 names to gpt-5.4-nano (spec 3.3), an unknown name goes to the provider, whose refusal becomes a
 *     `bad_request` ModelError carrying the provider's message.
 *  2. Provider: the space's `ai_provider`, else TAKOS_DEFAULT_PROVIDER, else openai; a requested model whose name
 *     belongs to another hosted provider (claude-*, gpt-*, gemini-*, takos-demo-*) goes to that provider instead,
 *     since sending "claude-sonnet-4-6" to OpenAI can only fail (providers.ts: providerForModel).
 *  3. Credentials: the space's common-env first (its own key), then the server environment. A base URL from
 *     common-env is honoured only with TAKOS_ALLOW_SPACE_BASE_URL=1, and then only together with a key from the
 *     same common-env: the server's key is never sent to an address a space chose.
 *  4. No credentials for that provider: when the model came from the space's settings (not the request) and the
 *     server's TAKOS_DEFAULT_PROVIDER is usable, that provider with its default model; otherwise the built-in demo
 *     model. Either way `note` says what happened and how to fix it, for the run worker to show in the run's events.
 */
export interface SelectModelInput {
  requestedModel?: string | null;
  spaceProvider?: string | null;
  spaceModel?: string | null;
  config: ModelConfig;
  /** The space's common-env (name -> value); may hold OPENAI_API_KEY, ANTHROPIC_API_KEY, ... */
  commonEnv?: Record<string, string> | null;
}

export interface ProviderCredentials {
  /** Secret. `toJSON` masks it, so logging a selection does not leak it. */
  readonly apiKey: string | null;
  /** Null only for the demo provider. */
  readonly baseURL: string | null;
  /** Where the credential came from. */
  readonly source: 'space' | 'server' | 'none';
}

export interface ModelSelection {
  provider: ProviderName;
  wire: Wire;
  model: string;
  credentials: ProviderCredentials;
  /** True when the demo model or the server's default provider stands in for what was asked. */
  fallback: boolean;
  /** Human-readable explanation of any substitution or ignored setting; null when everything was taken as asked. */
  note: string | null;
}

function credentials(apiKey: string | null, baseURL: string | null, source: ProviderCredentials['source']): ProviderCredentials {
  return {
    apiKey,
    baseURL,
    source,
    toJSON: () => ({ apiKey: apiKey ? '***' : null, baseURL, source }),
  } as ProviderCredentials;
}

const clean = (v: string | null | undefined) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The usable credentials of `provider`, or null with the reason it has none. */
function resolveCredentials(provider: ProviderName, input: SelectModelInput, notes: string[]): ProviderCredentials | null {
  const spec = PROVIDERS[provider];
  if (spec.wire === 'demo') return credentials(null, null, 'none');
  const space = input.commonEnv ?? {};
  const server = input.config.providerEnv;
  const spaceKey = spec.keyVar ? clean(space[spec.keyVar]) : null;
  let spaceBase = spec.baseUrlVar ? clean(space[spec.baseUrlVar]) : null;
  if (spaceBase && !input.config.allowSpaceBaseURL) {
    notes.push(`The space's ${spec.baseUrlVar} was ignored: this server does not allow spaces to choose provider addresses (TAKOS_ALLOW_SPACE_BASE_URL).`);
    spaceBase = null;
  } else if (spaceBase && !isHttpUrl(spaceBase)) {
    notes.push(`The space's ${spec.baseUrlVar} was ignored: not an http(s) URL.`);
    spaceBase = null;
  }
  if (spaceBase) {
    // A space-chosen address gets only the space's own key (or none, for keyless servers).
    if (spec.keyVar && !spaceKey && spec.defaultBaseURL !== null) {
      notes.push(`The space's ${spec.baseUrlVar} needs the space's own ${spec.keyVar}: the server's key is not sent to it.`);
      return null;
    }
    return credentials(spaceKey, spaceBase, 'space');
  }
  const serverKey = spec.keyVar ? clean(server[spec.keyVar]) : null;
  const baseURL = (spec.baseUrlVar ? clean(server[spec.baseUrlVar]) : null) ?? spec.defaultBaseURL;
  if (!baseURL) return null;
  const key = spaceKey ?? serverKey;
  // Hosted providers (those with a default address) need a key; a configured local server may be keyless.
  if (!key && spec.defaultBaseURL !== null) return null;
  return credentials(key, baseURL, spaceKey ? 'space' : 'server');
}

function missingHint(provider: ProviderName): string {
  const spec = PROVIDERS[provider];
  if (spec.defaultBaseURL === null) return `${spec.baseUrlVar} is not configured`;
  return `no ${spec.keyVar} is configured (server environment or the space's common-env)`;
}

export function selectModel(input: SelectModelInput): ModelSelection {
  const notes: string[] = [];
  const { config } = input;
  const spaceProviderRaw = clean(input.spaceProvider);
  let spaceProvider: ProviderName | null = null;
  if (spaceProviderRaw && isProviderName(spaceProviderRaw)) spaceProvider = spaceProviderRaw;
  else if (spaceProviderRaw) notes.push(`The space's provider "${spaceProviderRaw}" is not one this server knows; it was ignored.`);
  const base: ProviderName = spaceProvider ?? config.defaultProvider ?? 'openai';

  const requested = clean(input.requestedModel);
  const provider = requested ? providerForModel(requested, base) : base;
  let model = requested ?? clean(input.spaceModel) ?? config.defaultModel ?? PROVIDERS[provider].defaultModel;
  if (provider === 'demo' && !requested && model !== DEMO_MODEL) {
    // A space switched to the demo provider usually keeps its old model name, which the demo cannot serve.
    notes.push(`The demo provider serves only ${DEMO_MODEL}; the space's model "${model}" was not used.`);
    model = DEMO_MODEL;
  }

  const creds = model ? resolveCredentials(provider, input, notes) : null;
  if (model && creds) {
    return { provider, wire: PROVIDERS[provider].wire, model, credentials: creds, fallback: false, note: notes.length ? notes.join(' ') : null };
  }
  const why = model ? missingHint(provider) : `no model is named (request, space or TAKOS_DEFAULT_MODEL)`;

  const fallbackProvider = config.defaultProvider;
  if (!requested && fallbackProvider && fallbackProvider !== provider && fallbackProvider !== 'demo') {
    const fallbackModel = config.defaultModel ?? PROVIDERS[fallbackProvider].defaultModel;
    const fallbackCreds = fallbackModel ? resolveCredentials(fallbackProvider, input, notes) : null;
    if (fallbackModel && fallbackCreds) {
      notes.push(`The space uses ${provider} but ${why}; using the server's default provider ${fallbackProvider} (${fallbackModel}).`);
      return { provider: fallbackProvider, wire: PROVIDERS[fallbackProvider].wire, model: fallbackModel, credentials: fallbackCreds, fallback: true, note: notes.join(' ') };
    }
  }
  notes.push(
    `Provider ${provider} is not usable: ${why}. Using the built-in demo model ${DEMO_MODEL}, which only echoes the last message.`,
  );
  return { provider: 'demo', wire: 'demo', model: DEMO_MODEL, credentials: credentials(null, null, 'none'), fallback: true, note: notes.join(' ') };
}
