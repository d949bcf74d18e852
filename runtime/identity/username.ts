/**
 * Username rules of spec 2.6 (the shared validator used by setup and username changes): 3-30 chars of letters,
 * digits, `_` and `-`, starting alphanumeric, no trailing or doubled symbol, not reserved. Stored lower-cased.
 * The message is the first rule that fails.
 */
const RESERVED = new Set([
  'admin', 'administrator', 'root', 'system', 'api', 'auth', 'oauth', 'login', 'logout', 'signin', 'signup', 'register',
  'settings', 'explore', 'search', 'notifications', 'followers', 'following', 'test', 'null', 'undefined', 'me', 'new',
  'edit', 'delete', 'help', 'support', 'about', 'terms', 'privacy', 'security', 'status', 'docs', 'blog', 'www', 'mail',
  'email', 'git', 'ssh', 'ftp', 'static', 'assets', 'public', 'app', 'apps', 'space', 'spaces', 'repo', 'repos',
  'user', 'users', 'account', 'accounts', 'profile', 'profiles', 'dashboard', 'home', 'setup', 'store', 'stores', 'hub',
  'source', 'tools', 'billing', 'pricing', 'takos', 'official', 'staff', 'moderator', 'owner', 'guest', 'anonymous',
  'ap', 'ns', 'well-known', 'health', 'metrics', 'threads', 'runs', 'sessions', 'skills', 'memories', 'reminders',
  'projects', 'tasks', 'webhooks', 'callback',
]);

export function usernameError(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.trim() === '') return 'Username is required';
  const u = raw.trim();
  if (u.length < 3) return 'Username must be at least 3 characters';
  if (u.length > 30) return 'Username must be at most 30 characters';
  if (!/^[A-Za-z0-9_-]+$/.test(u)) return 'Username can only contain letters, numbers, underscores and hyphens';
  if (!/^[A-Za-z0-9]/.test(u)) return 'Username must start with a letter or number';
  if (/[_-]$/.test(u)) return 'Username cannot end with an underscore or hyphen';
  if (/[_-]{2}/.test(u)) return 'Username cannot contain consecutive underscores or hyphens';
  if (RESERVED.has(u.toLowerCase())) return 'This username is reserved';
  return null;
}

/** Slugs of team spaces share the account namespace: `[a-z0-9][a-z0-9-]{0,31}` (spec 1.2). */
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return s || 'space';
}

export const isReservedName = (name: string) => RESERVED.has(name.toLowerCase());
