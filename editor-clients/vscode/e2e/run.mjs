// End-to-end test of the SmartCache extension in a real VS Code (code-server),
// driven by playwright-core in Debian's headless Chromium.
//
//   node e2e/run.mjs
//
// Environment (all optional):
//   SMARTCACHE_PYTHON     interpreter with smartcache_ls installed (default: <repo>/.venv/bin/python)
//   CODE_SERVER           code-server binary (default: ~/.cache/code-server-e2e/node_modules/.bin/code-server)
//   SMARTCACHE_VSIX       the packaged extension (default: editor-clients/vscode/smartcache-ls.vsix)
//   SMARTCACHE_ARTIFACTS  where screenshots and logs go (default: <repo>/test-artifacts)
//   SMARTCACHE_E2E_RESULT the JSON result file (default: <artifacts>/vscode-e2e.json)
//   CHROMIUM              browser binary (default: /usr/bin/chromium)
//   SMARTCACHE_KEEP_TMP=1 keep the temporary user-data/workspace directories
//
// Exit status 0 when every step passed; the JSON result says what was seen either way.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXT_DIR = path.resolve(HERE, '..');
const REPO = path.resolve(EXT_DIR, '..', '..');
const ARTIFACTS = process.env.SMARTCACHE_ARTIFACTS || path.join(REPO, 'test-artifacts');
const RESULT = process.env.SMARTCACHE_E2E_RESULT || path.join(ARTIFACTS, 'vscode-e2e.json');
const PYTHON = process.env.SMARTCACHE_PYTHON || path.join(REPO, '.venv', 'bin', 'python');
const CODE_SERVER =
    process.env.CODE_SERVER || path.join(os.homedir(), '.cache', 'code-server-e2e', 'node_modules', '.bin', 'code-server');
const VSIX = process.env.SMARTCACHE_VSIX || path.join(EXT_DIR, 'smartcache-ls.vsix');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const EXTENSION_ID = 'smartcache.smartcache-ls';
const TOTAL_TIMEOUT_MS = 270_000; // the whole run stays under 5 minutes
const SCREENSHOT = path.join(ARTIFACTS, 'vscode-stats.png');

const started = Date.now();
const result = {
    ok: false,
    step: 'setup',
    error: null,
    codeServerVersion: null,
    vscodeVersion: null,
    python: PYTHON,
    opened: [],
    quickPickItems: [],
    firstItem: null,
    openedFile: null,
    statusText: null,
    statsText: null,
    screenshot: null,
    statsRefreshed: null,
    settingsApplied: null,
    clearCache: null,
    missingServer: null,
    restarted: false,
    seconds: null,
    log: [],
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smartcache-vscode-e2e-'));
let server; // the code-server child process
let browser;

function note(message) {
    const line = `[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`;
    result.log.push(line);
    process.stderr.write(`${line}\n`);
}

function run(cmd, args, timeoutMs) {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) {
                reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
            } else {
                resolve(String(stdout));
            }
        });
    });
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

async function waitForHttp(url, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
        if (server.exitCode !== null) {
            throw new Error(`code-server exited with ${server.exitCode} before it listened`);
        }
        try {
            const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
            if (res.ok) {
                return;
            }
            last = `HTTP ${res.status}`;
        } catch (err) {
            last = err.message;
        }
        await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`${url} did not answer within ${timeoutMs / 1000} s (${last})`);
}

function writeWorkspace(folder, cacheDir) {
    const files = {
        'a.py': 'import os\n\n\ndef alpha():\n    return os.getcwd()\n',
        'b.py': '"""Module b."""\n\n\nclass Beta:\n    def run(self):\n        return 2\n',
        'c.py': 'GAMMA = 3\n\n\ndef gamma():\n    return GAMMA\n',
        'd.py': 'def delta(x):\n    return x * 4\n',
        'README.md': '# sample workspace for the SmartCache e2e test\n',
        '.vscode/settings.json': JSON.stringify(
            {
                'smartcache.interpreter': PYTHON,
                'smartcache.cacheDir': cacheDir,
                'smartcache.logLevel': 'DEBUG',
                'smartcache.statusBar.refreshSeconds': 1,
            },
            null,
            2,
        ),
    };
    for (const [rel, text] of Object.entries(files)) {
        const file = path.join(folder, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
    }
}

function writeUserSettings(userDataDir) {
    const settings = {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'workbench.editor.enablePreview': false,
        'workbench.editor.enablePreviewFromQuickOpen': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'security.workspace.trust.enabled': false,
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'update.mode': 'none',
        'telemetry.telemetryLevel': 'off',
        'git.enabled': false,
        'window.restoreWindows': 'none',
        'files.hotExit': 'off',
    };
    const dir = path.join(userDataDir, 'User');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

function killServer() {
    if (server && server.exitCode === null && server.signalCode === null) {
        try {
            process.kill(-server.pid, 'SIGTERM'); // the whole process group: node, extension host, python
        } catch {
            /* gone */
        }
    }
}

async function stopEverything() {
    if (browser) {
        await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
        browser = undefined;
    }
    if (server && server.exitCode === null && server.signalCode === null) {
        killServer();
        const exited = await Promise.race([
            new Promise((r) => server.once('exit', () => r(true))),
            new Promise((r) => setTimeout(() => r(false), 5000)),
        ]);
        if (!exited) {
            try {
                process.kill(-server.pid, 'SIGKILL');
            } catch {
                /* gone */
            }
        }
    }
}

/** The run's temporary directory goes unless SMARTCACHE_KEEP_TMP is set (best effort). */
function removeTmp() {
    if (process.env.SMARTCACHE_KEEP_TMP) {
        return;
    }
    try {
        fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
        process.stderr.write(`could not remove ${tmp}: ${err.message}\n`);
    }
}

// Killing code-server on every way out, including signals and a hung run.
process.on('exit', killServer);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
        killServer();
        removeTmp();
        process.exit(130);
    });
}
const watchdog = setTimeout(() => {
    note(`timed out after ${TOTAL_TIMEOUT_MS / 1000} s`);
    result.error = result.error || `the whole run took longer than ${TOTAL_TIMEOUT_MS / 1000} s (at step ${result.step})`;
    finish(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

/** The extension's output channels (client log, server stderr, LSP trace) into the artifacts. */
function copyOutputLogs() {
    const logs = path.join(tmp, 'user-data', 'logs');
    const found = [];
    const walk = (dir) => {
        for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (/SmartCache( Trace)?\.log$/.test(entry.name)) found.push(full);
        }
    };
    try {
        walk(logs);
        for (const file of found) {
            const name = /Trace/.test(file) ? 'vscode-smartcache-trace.log' : 'vscode-smartcache-output.log';
            fs.copyFileSync(file, path.join(ARTIFACTS, name));
        }
    } catch (err) {
        note(`could not copy the output logs: ${err.message}`);
    }
}

let finishing = false;
async function finish(code) {
    if (finishing) {
        return;
    }
    finishing = true;
    result.seconds = Math.round((Date.now() - started) / 100) / 10;
    try {
        await stopEverything();
    } finally {
        copyOutputLogs();
        fs.mkdirSync(path.dirname(RESULT), { recursive: true });
        fs.writeFileSync(RESULT, `${JSON.stringify(result, null, 2)}\n`);
        removeTmp();
        process.exit(code);
    }
}

// ---- driving the workbench ---------------------------------------------------------

const QUICK_INPUT = '.quick-input-widget';
const ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

async function activeTab(page) {
    const tab = page.locator('.tabs-container .tab.active .label-name').first();
    return (await tab.count()) ? (await tab.innerText()).trim() : null;
}

async function waitActiveTab(page, name, timeoutMs = 20_000) {
    await page.waitForFunction(
        (want) => {
            const el = document.querySelector('.tabs-container .tab.active .label-name');
            return el && el.textContent.trim() === want;
        },
        name,
        { timeout: timeoutMs },
    );
}

async function quickInputRows(page) {
    return page.$$eval(ROWS, (rows) =>
        rows
            .map((row) => ({
                index: Number(row.getAttribute('data-index') ?? -1),
                label: (row.querySelector('.label-name')?.textContent ?? '').trim(),
                description: (row.querySelector('.label-description')?.textContent ?? '').trim(),
                detail: (row.querySelector('.quick-input-list-label-meta .label-name, .quick-input-list-detail')?.textContent ?? '').trim(),
                ariaLabel: row.getAttribute('aria-label') ?? '',
            }))
            .sort((x, y) => x.index - y.index),
    );
}

async function waitQuickInputClosed(page) {
    await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 10_000 });
}

async function quickOpen(page, name) {
    await page.keyboard.press('Control+P');
    const input = page.locator(`${QUICK_INPUT} .quick-input-box input.input`);
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(name);
    // Wait until the file search offers the file first, then open it.
    await page.waitForFunction(
        ([rowsSel, want]) => {
            const rows = [...document.querySelectorAll(rowsSel)].sort(
                (x, y) => Number(x.getAttribute('data-index')) - Number(y.getAttribute('data-index')),
            );
            const first = rows[0]?.querySelector('.label-name');
            return first && first.textContent.trim() === want;
        },
        [ROWS, name],
        { timeout: 20_000 },
    );
    await page.keyboard.press('Enter');
    await waitQuickInputClosed(page);
    await waitActiveTab(page, name);
}

async function runCommand(page, title) {
    await page.keyboard.press('F1');
    const input = page.locator(`${QUICK_INPUT} .quick-input-box input.input`);
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    await page.waitForFunction(
        ([rowsSel, want]) =>
            [...document.querySelectorAll(rowsSel)].some(
                (row) => row.getAttribute('data-index') === '0' && (row.getAttribute('aria-label') ?? '').includes(want),
            ),
        [ROWS, title],
        { timeout: 20_000 },
    );
    await page.keyboard.press('Enter');
}

async function statusText(page) {
    const label = page.locator('[aria-label^="SmartCache analysis hit ratio"]').first();
    if (!(await label.count())) {
        return null;
    }
    return (await label.innerText()).trim();
}

async function main() {
    for (const [what, file] of [
        ['code-server', CODE_SERVER],
        ['chromium', CHROMIUM],
        ['the .vsix', VSIX],
        ['python', PYTHON],
    ]) {
        if (!fs.existsSync(file)) {
            throw new Error(`${what} not found at ${file} (run editor-clients/vscode/scripts/install-deps.sh and npm run package)`);
        }
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const old of ['vscode-stats.png', 'vscode-failure.png', 'vscode-missing-server.png']) {
        fs.rmSync(path.join(ARTIFACTS, old), { force: true });
    }

    result.step = 'versions';
    const version = (await run(CODE_SERVER, ['--version'], 30_000)).trim().split('\n').pop();
    result.codeServerVersion = version;
    result.vscodeVersion = /Code (\S+)/.exec(version)?.[1] ?? null;
    note(`code-server ${version}`);

    result.step = 'install-extension';
    const userDataDir = path.join(tmp, 'user-data');
    const extensionsDir = path.join(tmp, 'extensions');
    const folder = path.join(tmp, 'workspace');
    const cacheDir = path.join(tmp, 'cache');
    writeUserSettings(userDataDir);
    writeWorkspace(folder, cacheDir);
    const dirs = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
    await run(CODE_SERVER, [...dirs, '--install-extension', VSIX], 120_000);
    const listed = await run(CODE_SERVER, [...dirs, '--list-extensions', '--show-versions'], 60_000);
    if (!listed.includes(EXTENSION_ID)) {
        throw new Error(`the extension is not listed after install: ${listed}`);
    }
    note(`installed ${listed.trim()}`);

    result.step = 'start-code-server';
    const port = await freePort();
    const serverLog = fs.openSync(path.join(ARTIFACTS, 'vscode-code-server.log'), 'w');
    server = spawn(
        CODE_SERVER,
        [
            ...dirs,
            '--auth', 'none',
            '--bind-addr', `127.0.0.1:${port}`,
            '--disable-telemetry',
            '--disable-update-check',
            '--disable-workspace-trust',
            '--disable-getting-started-override',
            folder,
        ],
        { detached: true, stdio: ['ignore', serverLog, serverLog], env: { ...process.env, SMARTCACHE_E2E: '1' } },
    );
    const url = `http://127.0.0.1:${port}/`;
    await waitForHttp(`${url}healthz`, 60_000);
    note(`code-server listening on ${url}`);

    result.step = 'browser';
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 60_000,
        args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--disable-dev-shm-usage',
        ],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => note(`page error: ${err.message}`));
    await page.goto(`${url}?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    note('workbench visible');

    result.step = 'extension-activation';
    // The status item gets its "hit ratio" label once the server answered smartcache/stats,
    // or a "SmartCache problem" label when the server cannot start.
    await page
        .locator('[aria-label^="SmartCache analysis hit ratio"], [aria-label^="SmartCache problem"]')
        .first()
        .waitFor({ state: 'attached', timeout: 60_000 });
    const problem = page.locator('[aria-label^="SmartCache problem"]').first();
    if (await problem.count()) {
        throw new Error(`the extension reports: ${await problem.getAttribute('aria-label')}`);
    }
    note(`status bar: ${await statusText(page)}`);

    result.step = 'open-files';
    // Give the workbench a moment to focus the editor area so that keybindings reach it.
    await page.locator('.monaco-workbench .part.editor').click({ position: { x: 300, y: 300 } });
    for (const name of ['a.py', 'b.py', 'a.py', 'b.py', 'a.py']) {
        await quickOpen(page, name);
        result.opened.push(name);
        note(`opened ${name}`);
        await page.waitForTimeout(400);
    }

    result.step = 'status-bar';
    // Not fatal here: the rest of the run still shows what works; checked at the end.
    await page.waitForFunction(
        () => {
            const el = document.querySelector('[aria-label^="SmartCache analysis hit ratio"]');
            return el && /\d+(\.\d+)?%/.test(el.textContent ?? '');
        },
        null,
        { timeout: 20_000 },
    ).catch(() => note('the status bar shows no percentage after 20 s'));
    result.statusText = await statusText(page);
    note(`status bar: ${result.statusText}`);

    result.step = 'open-predicted-file';
    await runCommand(page, 'SmartCache: Open Predicted File');
    await page.waitForFunction(
        (rowsSel) => {
            const rows = document.querySelectorAll(rowsSel);
            const title = document.querySelector('.quick-input-widget .quick-input-title');
            return rows.length > 0 && title && (title.textContent ?? '').includes('likely to open next');
        },
        ROWS,
        { timeout: 20_000 },
    );
    result.quickPickItems = await quickInputRows(page);
    result.firstItem = result.quickPickItems[0]?.label ?? null;
    note(`predictions: ${result.quickPickItems.map((i) => `${i.label} ${i.description}`).join(' | ')}`);
    await page.keyboard.press('Enter');
    await waitQuickInputClosed(page);
    if (result.firstItem) {
        await waitActiveTab(page, result.firstItem, 15_000).catch(() => undefined);
    }
    result.openedFile = await activeTab(page);
    note(`active editor after the pick: ${result.openedFile}`);

    result.step = 'statistics';
    await runCommand(page, 'SmartCache: Show Statistics');
    const webview = page.frameLocator('iframe.webview').frameLocator('#active-frame');
    await webview.locator('#tiers tbody tr').first().waitFor({ state: 'visible', timeout: 30_000 });
    // Let the view refresh once more so it shows the latest numbers.
    await page.waitForTimeout(1500);
    result.statsText = (await webview.locator('#root').innerText()).trim();
    await page.screenshot({ path: SCREENSHOT });
    result.screenshot = SCREENSHOT;
    note(`screenshot: ${SCREENSHOT}`);
    result.statusText = (await statusText(page)) ?? result.statusText;

    result.step = 'statistics-refresh';
    // The view refreshes itself while open (smartcache.statusBar.refreshSeconds is 1 here).
    const stamp = async () => (await webview.locator('#updated').innerText()).trim();
    const before = await stamp();
    await webview
        .locator('#updated')
        .filter({ hasNotText: before })
        .waitFor({ timeout: 10_000 })
        .catch(() => undefined);
    result.statsRefreshed = { before, after: await stamp() };
    note(`statistics refreshed: ${before} -> ${result.statsRefreshed.after}`);

    result.step = 'settings-on-change';
    // A changed setting reaches the running server: the memory tier's bound follows maxMemoryMB.
    const settingsFile = path.join(folder, '.vscode', 'settings.json');
    const original = fs.readFileSync(settingsFile, 'utf8');
    fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original), 'smartcache.maxMemoryMB': 64 }, null, 2));
    const memoryRow = webview.locator('#tiers tr[data-tier="memory"]');
    await memoryRow.filter({ hasText: '/ 64.0 MB' }).waitFor({ timeout: 15_000 });
    result.settingsApplied = (await memoryRow.innerText()).replace(/\s+/g, ' ').trim();
    note(`after maxMemoryMB = 64: ${result.settingsApplied}`);

    result.step = 'clear-cache';
    await runCommand(page, 'SmartCache: Clear Cache');
    await page.locator(`${QUICK_INPUT} .quick-input-title`, { hasText: 'clear which cache' }).waitFor({ timeout: 10_000 });
    const scopes = await quickInputRows(page);
    await page.keyboard.press('Enter'); // the first: the memory tier
    await page
        .locator('.notifications-toasts .notification-toast', { hasText: 'cleared the memory tier' })
        .first()
        .waitFor({ timeout: 10_000 });
    const entries = memoryRow.locator('td').nth(3);
    // The view refreshes every second: wait for the emptied tier (the test checks the value read).
    await entries
        .filter({ hasText: /^\s*0\s*$/ })
        .waitFor({ timeout: 10_000 })
        .catch(() => undefined);
    result.clearCache = { scopes: scopes.map((r) => r.label), memoryEntries: (await entries.innerText()).trim() };
    note(`after Clear Cache (memory): ${(await memoryRow.innerText()).replace(/\s+/g, ' ').trim()}`);

    result.step = 'missing-server';
    // Point smartcache.interpreter at a Python without smartcache_ls: the extension restarts,
    // says how to install the server, and comes back when the setting is restored.
    const bare = path.join(tmp, 'bare-venv');
    await run(PYTHON, ['-m', 'venv', '--without-pip', bare], 60_000);
    const barePython = path.join(bare, 'bin', 'python');
    fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original), 'smartcache.interpreter': barePython }, null, 2));
    await page.locator('[aria-label^="SmartCache problem"]').first().waitFor({ state: 'attached', timeout: 30_000 });
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'smartcache_ls' }).first();
    await toast.waitFor({ state: 'visible', timeout: 15_000 });
    result.missingServer = {
        interpreter: barePython,
        status: await page.locator('[aria-label^="SmartCache problem"]').first().getAttribute('aria-label'),
        message: (await toast.innerText()).trim(),
    };
    note(`without smartcache_ls: ${result.missingServer.message.replace(/\s+/g, ' ')}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'vscode-missing-server.png') });
    fs.writeFileSync(settingsFile, original);
    await page.locator('[aria-label^="SmartCache analysis hit ratio"]').first().waitFor({ state: 'attached', timeout: 30_000 });
    result.missingServer.recovered = true;
    note('server back after restoring smartcache.interpreter');

    result.step = 'restart-server';
    await runCommand(page, 'SmartCache: Restart Server');
    await page
        .locator('.notifications-toasts .notification-toast', { hasText: 'SmartCache: server restarted' })
        .first()
        .waitFor({ timeout: 30_000 });
    await page.locator('[aria-label^="SmartCache analysis hit ratio"]').first().waitFor({ state: 'attached', timeout: 30_000 });
    result.restarted = true;
    note('restarted with "SmartCache: Restart Server"');

    result.step = 'done';
    const problems = [];
    if (result.firstItem !== 'b.py') problems.push(`first predicted item is ${result.firstItem}, expected b.py`);
    if (result.openedFile !== 'b.py') problems.push(`active editor after the pick is ${result.openedFile}, expected b.py`);
    if (!/\d+(\.\d+)?%/.test(result.statusText ?? '')) problems.push(`status bar shows no hit ratio: ${result.statusText}`);
    if (!/Hit ratio/.test(result.statsText ?? '')) problems.push('the statistics view shows no hit ratios');
    if (result.statsRefreshed.before === result.statsRefreshed.after) problems.push('the statistics view did not refresh');
    if (problems.length) {
        throw new Error(problems.join('; '));
    }
    result.ok = true;
}

main()
    .then(() => finish(0))
    .catch(async (err) => {
        result.error = err instanceof Error ? err.stack || err.message : String(err);
        note(`FAILED at ${result.step}: ${err instanceof Error ? err.message : err}`);
        try {
            const pages = browser?.contexts().flatMap((c) => c.pages()) ?? [];
            if (pages[0]) {
                const shot = path.join(ARTIFACTS, 'vscode-failure.png');
                await pages[0].screenshot({ path: shot, timeout: 10_000 });
                note(`failure screenshot: ${shot}`);
            }
        } catch {
            /* best effort */
        }
        await finish(1);
    });
