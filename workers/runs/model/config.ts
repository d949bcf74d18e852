import { z } from 'zod';
import { PROVIDER_ENV_VARS, PROVIDER_NAMES, PROVIDERS } from './providers.ts';

/**
 * Model settings of this server process, read from the environment once and validated, so a typo stops the worker
 * at start-up rather than failing the first run. Provider keys and base URLs (OPENAI_API_KEY, ANTHROPIC_BASE_URL,
 * ... see providers.ts) are kept as given; a space's `common-env` can supply its own (select.ts).
 */
const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no', '']).transform((v) => v === '1' || v === 'true' || v === 'yes');
/** An empty variable counts as unset (shell `FOO=` and compose files produce them). */
const optional = <T extends z.ZodType>(s: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), s.optional());
const httpUrl = z.string().trim().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');

const Schema = z
  .object({
    /** Provider used when the space names none, or when the space's provider has no credentials (see select.ts). */
    TAKOS_DEFAULT_PROVIDER: optional(z.enum(PROVIDER_NAMES)),
    /** Model for TAKOS_DEFAULT_PROVIDER; required when that provider has no model of its own (openai-compatible, ollama). */
    TAKOS_DEFAULT_MODEL: optional(z.string().trim().min(1).max(200)),
    /** Budget of one model call (spec 3.2: 2 min per LLM iteration). */
    TAKOS_LLM_TIMEOUT_MS: z.coerce.number().int().min(1).max(3_600_000).default(120_000),
    /** Pause between the demo model's words; 0 streams at once. */
    TAKOS_DEMO_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(40),
    /**
     * Let a space's common-env override provider base URLs. Off by default: a base URL chosen by a space admin makes
     * this server send requests (and stream the answers back) wherever that admin says, internal addresses included.
     */
    TAKOS_ALLOW_SPACE_BASE_URL: bool.default(false),
  })
  .superRefine((c, ctx) => {
    const p = c.TAKOS_DEFAULT_PROVIDER;
    if (p && !PROVIDERS[p].defaultModel && !c.TAKOS_DEFAULT_MODEL) {
      ctx.addIssue({ code: 'custom', path: ['TAKOS_DEFAULT_MODEL'], message: `required when TAKOS_DEFAULT_PROVIDER is ${p}` });
    }
  });

const ProviderEnvSchema = z.object(
  Object.fromEntries(
    Object.values(PROVIDERS).flatMap((p) => [
      ...(p.keyVar ? [[p.keyVar, optional(z.string().trim().min(1))] as const] : []),
      ...(p.baseUrlVar ? [[p.baseUrlVar, optional(httpUrl)] as const] : []),
    ]),
  ),
);

export interface ModelConfig {
  defaultProvider: (typeof PROVIDER_NAMES)[number] | null;
  defaultModel: string | null;
  timeoutMs: number;
  demoDelayMs: number;
  allowSpaceBaseURL: boolean;
  /** The provider variables that are set (keys and base URLs), by name. Secrets: never log this. */
  providerEnv: Record<string, string>;
}

export function loadModelConfig(env: Record<string, string | undefined> = process.env): ModelConfig {
  const parsed = Schema.safeParse(env);
  const vars = ProviderEnvSchema.safeParse(env);
  const issues = [...(parsed.error?.issues ?? []), ...(vars.error?.issues ?? [])];
  if (!parsed.success || !vars.success) {
    const lines = issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid model configuration:\n${lines}`);
  }
  const c = parsed.data;
  const providerEnv: Record<string, string> = {};
  for (const name of PROVIDER_ENV_VARS) {
    const v = (vars.data as Record<string, unknown>)[name];
    if (typeof v === 'string') providerEnv[name] = v;
  }
  return {
    defaultProvider: c.TAKOS_DEFAULT_PROVIDER ?? null,
    defaultModel: c.TAKOS_DEFAULT_MODEL ?? null,
    timeoutMs: c.TAKOS_LLM_TIMEOUT_MS,
    demoDelayMs: c.TAKOS_DEMO_DELAY_MS,
    allowSpaceBaseURL: c.TAKOS_ALLOW_SPACE_BASE_URL,
    providerEnv,
  };
}
