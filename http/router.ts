/**
 * A segment trie keyed by method. Static segments win over `:params`, which win over a trailing `*`, whatever the
 * order routes were added in, so `/api/spaces/me` is never shadowed by `/api/spaces/:spaceId`.
 */
interface Node<T> {
  statics: Map<string, Node<T>>;
  param: { name: string; node: Node<T> } | null;
  wildcard: Map<string, T> | null;
  handlers: Map<string, T>;
}

const newNode = <T>(): Node<T> => ({ statics: new Map(), param: null, wildcard: null, handlers: new Map() });

export type Match<T> =
  | { kind: 'found'; value: T; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

export class Router<T> {
  private readonly root: Node<T> = newNode();

  add(method: string, path: string, value: T): void {
    let node = this.root;
    const segs = split(path);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      if (seg === '*') {
        if (i !== segs.length - 1) throw new Error(`'*' must be the last segment: ${path}`);
        node.wildcard ??= new Map();
        if (node.wildcard.has(method)) throw new Error(`duplicate route ${method} ${path}`);
        node.wildcard.set(method, value);
        return;
      }
      if (seg.startsWith(':')) {
        const name = seg.slice(1);
        if (node.param && node.param.name !== name) throw new Error(`conflicting param names :${node.param.name} and :${name} in ${path}`);
        node.param ??= { name, node: newNode() };
        node = node.param.node;
      } else {
        let next = node.statics.get(seg);
        if (!next) node.statics.set(seg, (next = newNode()));
        node = next;
      }
    }
    if (node.handlers.has(method)) throw new Error(`duplicate route ${method} ${path}`);
    node.handlers.set(method, value);
  }

  match(method: string, path: string): Match<T> {
    const segs = split(path);
    const params: Record<string, string> = {};
    // First look for a route that has this method, so that `PATCH /api/spaces/me` reaches `PATCH /api/spaces/:spaceId`
    // even though a static `GET /api/spaces/me` exists; only when none has it does the shape alone decide (405).
    const found = walk(this.root, segs, 0, params, method) ?? walk(this.root, segs, 0, params, null);
    if (!found) return { kind: 'not-found' };
    const { handlers, rest } = found;
    const value = handlers.get(method) ?? (method === 'HEAD' ? handlers.get('GET') : undefined);
    if (value === undefined) return { kind: 'method-not-allowed', allowed: [...handlers.keys()] };
    if (rest !== null) params['*'] = rest;
    return { kind: 'found', value, params };
  }
}

const serves = <T>(handlers: Map<string, T>, method: string | null) =>
  method === null ? handlers.size > 0 : handlers.has(method) || (method === 'HEAD' && handlers.has('GET'));

function walk<T>(node: Node<T>, segs: string[], i: number, params: Record<string, string>, method: string | null): { handlers: Map<string, T>; rest: string | null } | null {
  if (i === segs.length) {
    if (serves(node.handlers, method)) return { handlers: node.handlers, rest: null };
    return node.wildcard && serves(node.wildcard, method) ? { handlers: node.wildcard, rest: '' } : null;
  }
  const seg = segs[i]!;
  const s = node.statics.get(seg);
  if (s) {
    const r = walk(s, segs, i + 1, params, method);
    if (r) return r;
  }
  if (node.param && seg !== '') {
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      decoded = seg;
    }
    const r = walk(node.param.node, segs, i + 1, params, method);
    if (r) {
      params[node.param.name] = decoded;
      return r;
    }
  }
  if (node.wildcard && serves(node.wildcard, method)) return { handlers: node.wildcard, rest: segs.slice(i).join('/') };
  return null;
}

function split(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}
