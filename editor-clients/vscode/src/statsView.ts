// "SmartCache: Show Statistics": a webview with per-tier hit ratios, request hit
// ratios and prefetch accuracy, refreshed while it is open.
import * as crypto from 'crypto';
import { Disposable, ViewColumn, WebviewPanel, window } from 'vscode';
import { RequestStats, Stats, TierStats } from './common/server';

export type StatsSource = () => Promise<Stats | undefined>;

const TIER_ORDER = ['memory', 'sqlite', 'redis'];
const TIER_LABEL: Record<string, string> = { memory: 'Memory', sqlite: 'Disk (SQLite)', redis: 'Redis' };

function esc(value: unknown): string {
    return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function percent(ratio: number | null | undefined): string {
    return typeof ratio === 'number' && Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : '—';
}

function bytes(n: unknown): string {
    if (typeof n !== 'number' || !Number.isFinite(n)) {
        return '—';
    }
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i += 1;
    }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function count(n: unknown): string {
    return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '—';
}

function seconds(n: unknown): string {
    return typeof n === 'number' && Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 0)} s` : '—';
}

/** The hit ratio, or null (shown as "—") before the first lookup. */
function ratioOf(stats: { hitRatio?: number | null; hits?: number; misses?: number }): number | null {
    const hits = stats.hits ?? 0;
    const total = hits + (stats.misses ?? 0);
    if (total === 0) {
        return null;
    }
    return typeof stats.hitRatio === 'number' ? stats.hitRatio : hits / total;
}

function bar(ratio: number | null): string {
    const width = ratio === null ? 0 : Math.max(0, Math.min(100, ratio * 100));
    return `<div class="bar"><div class="fill" style="width:${width.toFixed(1)}%"></div></div>`;
}

/** The body of the view for one stats answer (everything escaped). */
export function renderStats(stats: Stats, updated: Date): string {
    const tiers = stats.tiers ?? {};
    const names = [...TIER_ORDER.filter((t) => t in tiers), ...Object.keys(tiers).filter((t) => !TIER_ORDER.includes(t))];
    const tierRows = names
        .map((name) => {
            const t: TierStats = tiers[name] ?? {};
            const r = ratioOf(t);
            return `<tr data-tier="${esc(name)}"><th>${esc(TIER_LABEL[name] ?? name)}</th>
<td class="ratio">${percent(r)}${bar(r)}</td><td>${count(t.hits)}</td><td>${count(t.misses)}</td>
<td>${count(t.entries)}</td><td>${bytes(t.bytes)}${t.maxBytes ? ` / ${bytes(t.maxBytes)}` : ''}</td><td>${count(t.evictions)}</td></tr>`;
        })
        .join('\n');
    const requests = stats.requests ?? {};
    const requestRows = Object.keys(requests)
        .map((name) => {
            const q: RequestStats = requests[name] ?? {};
            const r = ratioOf(q);
            return `<tr data-request="${esc(name)}"><th>${esc(name)}</th><td class="ratio">${percent(r)}${bar(r)}</td>
<td>${count(q.hits)}</td><td>${count(q.misses)}</td><td>${count(q.count)}</td></tr>`;
        })
        .join('\n');
    const p = stats.prefetch ?? {};
    const accuracy = (p.issued ?? 0) > 0 && typeof p.accuracy === 'number' ? p.accuracy : null;
    const firstWarm = (p.firstVisits ?? 0) > 0 ? (p.firstVisitsWarm ?? 0) / (p.firstVisits ?? 1) : null;
    const precision = (p.prefetchedFiles ?? 0) > 0 && typeof p.precision === 'number' ? p.precision : null;
    const pred = stats.predictor ?? {};
    const folders = (stats.workspaces ?? []).map((w) => esc(w.name ?? w.uri)).join(', ') || '—';
    return `
<h1>SmartCache statistics</h1>
<p class="meta">server ${esc(stats.version ?? '?')} · up ${count(Math.round(stats.uptimeSeconds ?? 0))} s · workspace ${folders}
 · updated <span id="updated">${esc(updated.toLocaleTimeString('en-GB'))}</span></p>
<h2>Cache tiers</h2>
<table id="tiers"><thead><tr><th>Tier</th><th>Hit ratio</th><th>Hits</th><th>Misses</th><th>Entries</th><th>Size</th><th>Evictions</th></tr></thead>
<tbody>${tierRows || '<tr><td colspan="7">no tiers</td></tr>'}</tbody></table>
<h2>Requests</h2>
<table id="requests"><thead><tr><th>Request</th><th>Hit ratio</th><th>Cache hits</th><th>Misses</th><th>Count</th></tr></thead>
<tbody>${requestRows || '<tr><td colspan="5">no requests yet</td></tr>'}</tbody></table>
<h2>Prefetch</h2>
<table id="prefetch"><thead><tr><th>Accuracy</th><th>Issued</th><th>Used</th><th>Wasted</th><th>Queued</th></tr></thead>
<tbody><tr><td class="ratio">${percent(accuracy)}${bar(accuracy)}</td>
<td>${count(p.issued)}</td><td>${count(p.used)}</td><td>${count(p.wasted)}</td><td>${count(p.queued)}</td></tr></tbody></table>
<table id="first-visits"><thead><tr><th>First visits warm</th><th>First visits</th><th>Precision</th><th>Lead time p50 / p95</th>
<th>Per switch p95</th><th>Wasted</th></tr></thead>
<tbody><tr><td class="ratio">${percent(firstWarm)}${bar(firstWarm)}</td><td>${count(p.firstVisitsWarm)} of ${count(p.firstVisits)}</td>
<td>${percent(precision)}</td><td>${seconds(p.leadTimeP50)} / ${seconds(p.leadTimeP95)}</td>
<td>${count(p.filesPerSwitchP95)} files, ${seconds(p.cpuPerSwitchP95)} CPU</td>
<td>${bytes(p.wastedBytes)}, ${seconds(p.wastedCpuSeconds)} CPU</td></tr></tbody></table>
<h2>Predictor</h2>
<p>${count(pred.files)} files · ${count(pred.transitions)} transitions · ${bytes(pred.bytes)} model</p>
${stats.cacheDir ? `<p class="meta">cache dir ${esc(stats.cacheDir)}</p>` : ''}`;
}

function shell(panel: WebviewPanel): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const csp = `default-src 'none'; style-src ${panel.webview.cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';`;
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>SmartCache statistics</title>
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 16px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; min-width: 60%; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid var(--vscode-panel-border, #8884); }
td.ratio { min-width: 9em; font-weight: bold; }
.bar { height: 4px; background: var(--vscode-editorWidget-background, #8883); margin-top: 3px; }
.fill { height: 4px; background: var(--vscode-charts-green, #3c3); }
.meta { opacity: 0.75; } .error { color: var(--vscode-errorForeground, #e44); }
</style></head>
<body><div id="root"><h1>SmartCache statistics</h1><p>Waiting for the server…</p></div>
<script nonce="${nonce}">
window.addEventListener('message', (event) => {
  const msg = event.data;
  if (msg && msg.type === 'render') { document.getElementById('root').innerHTML = msg.html; }
});
</script></body></html>`;
}

export class StatsView implements Disposable {
    private static current: StatsView | undefined;
    private timer: NodeJS.Timeout | undefined;
    private busy = false;

    static show(source: StatsSource, refreshSeconds: number): StatsView {
        if (StatsView.current) {
            StatsView.current.panel.reveal();
            void StatsView.current.refresh();
            return StatsView.current;
        }
        const panel = window.createWebviewPanel('smartcache.stats', 'SmartCache Statistics', ViewColumn.Active, {
            enableScripts: true,
            retainContextWhenHidden: false,
        });
        StatsView.current = new StatsView(panel, source, refreshSeconds);
        return StatsView.current;
    }

    private constructor(
        private readonly panel: WebviewPanel,
        private readonly source: StatsSource,
        refreshSeconds: number,
    ) {
        panel.webview.html = shell(panel);
        panel.onDidDispose(() => this.dispose());
        // A hidden webview loses its content: render again when it shows.
        panel.onDidChangeViewState(() => {
            if (panel.visible) {
                void this.refresh();
            }
        });
        this.timer = setInterval(() => {
            if (this.panel.visible) {
                void this.refresh();
            }
        }, refreshSeconds * 1000);
        void this.refresh();
    }

    async refresh(): Promise<void> {
        if (this.busy) {
            return;
        }
        this.busy = true;
        try {
            let html: string;
            try {
                const stats = await this.source();
                html = stats
                    ? renderStats(stats, new Date())
                    : '<h1>SmartCache statistics</h1><p>The SmartCache server is not running.</p>';
            } catch (err) {
                html = `<h1>SmartCache statistics</h1><p class="error">Could not get statistics: ${esc(err instanceof Error ? err.message : err)}</p>`;
            }
            await this.panel.webview.postMessage({ type: 'render', html });
        } finally {
            this.busy = false;
        }
    }

    dispose(): void {
        if (this.timer) {
            clearInterval(this.timer);
            this.timer = undefined;
        }
        if (StatsView.current === this) {
            StatsView.current = undefined;
            this.panel.dispose();
        }
    }
}
