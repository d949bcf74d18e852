import { toIso } from '../../../runtime/ids.ts';
import type { MessageRole, MessageView, ThreadStatus, ThreadView } from './schemas.ts';

/** Database rows of this family and their public shapes. */

export interface ThreadRow {
  id: string;
  account_id: string;
  title: string | null;
  locale: 'ja' | 'en' | null;
  status: ThreadStatus;
  summary: string | null;
  key_points: string;
  retrieval_index: number;
  context_window: number;
  created_at: Date;
  updated_at: Date;
}

export interface MessageRow {
  id: string;
  thread_id: string;
  role: MessageRole;
  content: string;
  tool_calls: string | null;
  tool_call_id: string | null;
  metadata: string;
  sequence: number;
  created_at: Date;
}

export const threadView = (t: ThreadRow): ThreadView => ({
  id: t.id,
  space_id: t.account_id,
  title: t.title,
  locale: t.locale,
  status: t.status,
  summary: t.summary,
  key_points: t.key_points,
  retrieval_index: t.retrieval_index,
  context_window: t.context_window,
  created_at: toIso(t.created_at)!,
  updated_at: toIso(t.updated_at)!,
});

export const messageView = (m: MessageRow): MessageView => ({
  id: m.id,
  thread_id: m.thread_id,
  role: m.role,
  content: m.content,
  tool_calls: m.tool_calls,
  tool_call_id: m.tool_call_id,
  metadata: m.metadata,
  sequence: m.sequence,
  created_at: toIso(m.created_at)!,
});
