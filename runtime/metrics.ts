/**
 * A small Prometheus text-format registry. Label sets are looked up by one joined string per observation, which
 * keeps the per-request cost to a map lookup and a few additions (prom-client's label handling costs several times
 * that on the hot path).
 */
type Labels = Record<string, string>;

const fmtLabels = (names: string[], values: string[]) =>
  names.length === 0 ? '' : `{${names.map((n, i) => `${n}="${(values[i] ?? '').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;

export class Counter {
  private readonly values = new Map<string, { labels: string[]; v: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: string[] = []) {}
  inc(labels: Labels = {}, by = 1): void {
    const vals = this.labelNames.map((n) => labels[n] ?? '');
    const key = vals.join('\u0000');
    const e = this.values.get(key);
    if (e) e.v += by;
    else this.values.set(key, { labels: vals, v: by });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const e of this.values.values()) lines.push(`${this.name}${fmtLabels(this.labelNames, e.labels)} ${e.v}`);
    return lines.join('\n');
  }
}

export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number | Array<[Labels, number]>) {}
  render(): string {
    const v = this.read();
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    if (typeof v === 'number') lines.push(`${this.name} ${v}`);
    else for (const [l, n] of v) lines.push(`${this.name}${fmtLabels(Object.keys(l), Object.values(l))} ${n}`);
    return lines.join('\n');
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: string[]; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[], readonly labelNames: string[] = []) {}
  observe(labels: Labels, value: number): void {
    const vals = this.labelNames.map((n) => labels[n] ?? '');
    const key = vals.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: vals, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${fmtLabels([...this.labelNames, 'le'], [...s.labels, String(b)])} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${fmtLabels([...this.labelNames, 'le'], [...s.labels, '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${fmtLabels(this.labelNames, s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${fmtLabels(this.labelNames, s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class Registry {
  private readonly metrics: Array<{ render(): string }> = [];
  register<M extends { render(): string }>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}

export function createHttpMetrics(reg: Registry) {
  return {
    requests: reg.register(new Counter('takos_http_requests_total', 'HTTP requests by route template, method and status', ['route', 'method', 'status'])),
    latency: reg.register(
      new Histogram('takos_http_request_duration_seconds', 'HTTP request latency by route template', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], ['route']),
    ),
  };
}
