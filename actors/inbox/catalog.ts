/**
 * The notification catalogue (spec 4.1): types, channels and the default preference matrix. One addition to the
 * original's twelve types: `reminder.triggered`, produced by reminders firing (the original had no reminder
 * scheduler, so no type for it).
 */
export const NOTIFICATION_TYPES = [
  'deploy.completed',
  'deploy.failed',
  'run.completed',
  'run.failed',
  'pr.review.requested',
  'pr.comment',
  'social.followed',
  'social.follow.requested',
  'social.follow.accepted',
  'workspace.invite',
  'billing.quota_warning',
  'security.new_login',
  'reminder.triggered',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const CHANNELS = ['in_app', 'email', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];

export type ChannelPrefs = Record<Channel, boolean>;
export type PreferenceMatrix = Record<NotificationType, ChannelPrefs>;

const p = (in_app: boolean, email: boolean, push: boolean): ChannelPrefs => ({ in_app, email, push });

export const DEFAULT_PREFERENCES: Readonly<PreferenceMatrix> = {
  'deploy.completed': p(true, true, false),
  'deploy.failed': p(true, true, false),
  'run.completed': p(true, false, false),
  'run.failed': p(true, true, false),
  'pr.review.requested': p(true, false, false),
  'pr.comment': p(true, false, false),
  'social.followed': p(true, false, false),
  'social.follow.requested': p(true, false, false),
  'social.follow.accepted': p(true, false, false),
  'workspace.invite': p(true, true, false),
  'billing.quota_warning': p(true, true, false),
  'security.new_login': p(true, true, false),
  'reminder.triggered': p(true, false, false),
};

export const isNotificationType = (t: string): t is NotificationType => (NOTIFICATION_TYPES as readonly string[]).includes(t);
export const isChannel = (c: string): c is Channel => (CHANNELS as readonly string[]).includes(c);

/** Stored overrides, keyed `<type>|<channel>`; absent keys mean the default. */
export type PreferenceOverrides = Record<string, boolean>;
export const prefKey = (type: string, channel: string) => `${type}|${channel}`;

export function effectivePrefs(overrides: PreferenceOverrides, type: NotificationType): ChannelPrefs {
  const d = DEFAULT_PREFERENCES[type];
  return {
    in_app: overrides[prefKey(type, 'in_app')] ?? d.in_app,
    email: overrides[prefKey(type, 'email')] ?? d.email,
    push: overrides[prefKey(type, 'push')] ?? d.push,
  };
}

export function preferenceMatrix(overrides: PreferenceOverrides): PreferenceMatrix {
  const out = {} as PreferenceMatrix;
  for (const t of NOTIFICATION_TYPES) out[t] = effectivePrefs(overrides, t);
  return out;
}

/** Types whose in_app channel is off: hidden from the list and the unread count (spec 4.2). */
export const inAppHiddenTypes = (overrides: PreferenceOverrides): NotificationType[] =>
  NOTIFICATION_TYPES.filter((t) => !effectivePrefs(overrides, t).in_app);

/** Serialized `data` above this many characters is stored as `{}` (spec 4.1). */
export const MAX_DATA_CHARS = 10_000;
