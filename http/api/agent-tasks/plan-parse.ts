import type { z } from 'zod';
import type { PlanSchema } from './schemas.ts';

/**
 * The planning prompt and the reading of its answer (workspace spec 11). The original sent the prompt as a
 * one-off chat completion; here it is the last user message of the task's thread and a normal run answers it, so
 * the plan comes through the runs machinery (events, retries, cancellation, rate limits) like any other answer.
 */
export type Plan = z.infer<typeof PlanSchema>;

/** Capabilities this server gives an agent, named for the planner to choose from. */
export const PLANNER_TOOLS = ['thread_history', 'repository_read', 'runtime_session', 'repository_commit', 'browser_session', 'web_fetch'] as const;

const TYPES = new Set(['conversation', 'tool_only', 'code_change', 'composite']);

export function planPrompt(task: { title: string; description: string | null }): string {
  const text = task.description?.trim() || task.title;
  return [
    'You are a task analyzer. Return only valid JSON.',
    '',
    'Decide how an agent should carry out the task below and answer with one JSON object of this shape:',
    '{"type": "conversation" | "tool_only" | "code_change" | "composite", "tools": [tool names], "needsRepo": boolean,',
    ' "needsRuntime": boolean, "usePR": boolean, "needsReview": boolean, "reviewType": "self" | "separate_ai",',
    ' "commitMessage": string (for code changes), "reasoning": string, "steps": [string]}',
    '',
    `Tools: ${PLANNER_TOOLS.join(', ')}`,
    '',
    `Task: ${text}`,
  ].join('\n');
}

export const fallbackPlan = (reasoning = 'Analysis failed, defaulting to conversation'): Plan => ({
  type: 'conversation',
  tools: [],
  needsRepo: false,
  needsRuntime: false,
  usePR: false,
  needsReview: false,
  reviewType: 'self',
  reasoning,
});

/** The model's answer as a plan: code fences stripped, unknown type -> conversation, missing flags false. */
export function parsePlan(answer: string | null): Plan {
  if (!answer) return fallbackPlan();
  let text = answer.trim().replace(/^```[a-zA-Z]*\s*\n?/, '').replace(/\n?```\s*$/, '');
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return fallbackPlan();
  text = text.slice(start, end + 1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fallbackPlan();
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fallbackPlan();
  const o = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const plan: Plan = {
    type: typeof o.type === 'string' && TYPES.has(o.type) ? (o.type as Plan['type']) : 'conversation',
    tools: Array.isArray(o.tools) ? o.tools.filter((t): t is string => typeof t === 'string') : [],
    needsRepo: o.needsRepo === true,
    needsRuntime: o.needsRuntime === true,
    usePR: o.usePR === true,
    needsReview: o.needsReview === true,
    reviewType: o.reviewType === 'separate_ai' ? 'separate_ai' : 'self',
  };
  const commitMessage = str(o.commitMessage);
  const reasoning = str(o.reasoning);
  const repoId = str(o.repoId);
  if (commitMessage) plan.commitMessage = commitMessage;
  if (reasoning) plan.reasoning = reasoning;
  if (repoId) plan.repoId = repoId;
  if (Array.isArray(o.steps)) plan.steps = o.steps;
  return plan;
}

/** The plan a finished planning run produced (a failed or cancelled run yields the fallback, saying why). */
export function planFromRun(run: { status: string; output: string | null; error: string | null }): Plan {
  if (run.status === 'completed') return parsePlan(run.output);
  return fallbackPlan(`Planning run ${run.status}${run.error ? `: ${run.error}` : ''}; defaulting to conversation`);
}
