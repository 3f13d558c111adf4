// SmartCache for VS Code: a thin client for the smartcache_ls language server
// (modelled on Microsoft's vscode-python-tools-extension-template).
import * as vscode from 'vscode';
import { LanguageClient, State } from 'vscode-languageclient/node';
import { checkServerImportable, findInterpreter, installCommand, Interpreter, onDidChangeInterpreter, watchPythonExtension } from './common/python';
import { createClient, mcpCommand, METHODS, Prediction, pushSettings, serverCommand, SERVER_NAME, Stats } from './common/server';
import { affects, getExtensionSettings, LIVE_SETTINGS, RESTART_SETTINGS } from './common/settings';
import { registerMcpServers } from './mcp';
import { percent, StatsView } from './statsView';

let client: LanguageClient | undefined;
let interpreter: Interpreter | undefined;
let output: vscode.OutputChannel;
let traceOutput: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let statusTimer: NodeJS.Timeout | undefined;
let queue: Promise<unknown> = Promise.resolve();
let mcpChanged: vscode.EventEmitter<void> | undefined;

function log(message: string): void {
    output.appendLine(`[${new Date().toISOString()}] ${message}`);
}

/** Runs server (re)starts and stops one after another. */
function serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
}

function running(): LanguageClient | undefined {
    return client && client.state === State.Running ? client : undefined;
}

async function stopServer(): Promise<void> {
    const old = client;
    client = undefined;
    if (old) {
        try {
            await old.stop(5000);
        } catch (err) {
            log(`stopping the server: ${String(err)}`);
        }
        await old.dispose().catch(() => undefined);
    }
}

async function startServer(): Promise<void> {
    await stopServer();
    showStatus('$(sync~spin) SmartCache', 'SmartCache is starting');
    const folder = vscode.workspace.workspaceFolders?.[0];
    interpreter = await findInterpreter(folder?.uri);
    log(`interpreter: ${interpreter.path} (from ${interpreter.source})`);
    const check = await checkServerImportable(interpreter.path);
    if (!check.ok) {
        showStatus('$(warning) SmartCache', `smartcache_ls is not available: ${check.error ?? 'unknown error'}`, true);
        log(`cannot start: ${check.error}`);
        void explainMissingServer(interpreter, check.error ?? '');
        return;
    }
    const { command, args } = serverCommand(interpreter);
    log(`starting smartcache_ls ${check.version}: ${command} ${args.join(' ')}`);
    const next = createClient(interpreter, output, traceOutput);
    next.onDidChangeState((e) => {
        if (e.newState === State.Stopped && client === next) {
            showStatus('$(circle-slash) SmartCache', 'The SmartCache server stopped. Run "SmartCache: Restart Server".', true);
        }
    });
    client = next;
    try {
        await next.start();
    } catch (err) {
        log(`the server failed to start: ${String(err)}`);
        showStatus('$(error) SmartCache', `The SmartCache server failed to start: ${String(err)}`, true);
        void vscode.window.showErrorMessage(`SmartCache: the server failed to start (${String(err)}). See the SmartCache output.`, 'Show Output').then((choice) => {
            if (choice) {
                output.show(true);
            }
        });
        return;
    }
    log('server running');
    mcpChanged?.fire(); // the interpreter or the cache dir may be new
    const editor = vscode.window.activeTextEditor;
    if (editor) {
        void onActiveEditor(editor);
    }
    void refreshStatus();
}

async function explainMissingServer(found: Interpreter, error: string): Promise<void> {
    const cmd = installCommand(found.path);
    const where = {
        setting: 'the "smartcache.interpreter" setting',
        'python-extension': "the Python extension's active environment",
        PATH: 'PATH',
    }[found.source];
    const noPython = error.startsWith('no Python interpreter');
    const message = noPython
        ? `SmartCache: ${error} (from ${where}). Set "smartcache.interpreter" to a Python 3.11+ that has smartcache_ls installed.`
        : `SmartCache: the smartcache_ls server is not installed for ${found.path} (from ${where}): ${error}. ` +
          `Install it with "${cmd}", or set "smartcache.interpreter" to a Python that has it, then run "SmartCache: Restart Server".`;
    const actions = noPython ? ['Open Settings'] : ['Install in Terminal', 'Copy Command', 'Open Settings'];
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === 'Install in Terminal') {
        const terminal = vscode.window.createTerminal('SmartCache install');
        terminal.show();
        terminal.sendText(cmd);
    } else if (choice === 'Copy Command') {
        await vscode.env.clipboard.writeText(cmd);
    } else if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'smartcache.interpreter');
    }
}

async function request<T>(method: string, params: object): Promise<T | undefined> {
    const c = running();
    if (!c) {
        return undefined;
    }
    return c.sendRequest<T>(method, params);
}

function fileUri(editor: vscode.TextEditor | undefined): string | undefined {
    const uri = editor?.document.uri;
    return uri && uri.scheme === 'file' ? uri.toString() : undefined;
}

/** The editor switched files: tell the server (a switch to an open file sends no didOpen) and use its analysis cache. */
async function onActiveEditor(editor: vscode.TextEditor | undefined): Promise<void> {
    const c = running();
    const uri = fileUri(editor);
    if (!c || !uri) {
        return;
    }
    try {
        await c.sendNotification(METHODS.didFocus, { uri });
        await c.sendRequest(METHODS.getAnalysis, { uri });
    } catch (err) {
        // Files outside the workspace, binary or too large ones are refused: nothing to show.
        log(`analysis of ${uri}: ${err instanceof Error ? err.message : String(err)}`);
    }
    await refreshStatus();
}

function showStatus(text: string, tooltip: string | vscode.MarkdownString, warn = false): void {
    statusItem.text = text;
    statusItem.tooltip = tooltip;
    statusItem.backgroundColor = warn ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const detail = typeof tooltip === 'string' ? tooltip : text;
    statusItem.accessibilityInformation = { label: warn ? `SmartCache problem: ${detail}` : `SmartCache: ${detail}` };
    statusItem.show();
}

async function refreshStatus(): Promise<void> {
    if (!running()) {
        return;
    }
    let stats: Stats | undefined;
    try {
        stats = await request<Stats>(METHODS.stats, {});
    } catch (err) {
        log(`stats: ${String(err)}`);
        return;
    }
    if (!stats) {
        return;
    }
    const analysis = stats.requests?.getAnalysis ?? {};
    const ratio = typeof analysis.hitRatio === 'number' ? analysis.hitRatio : null;
    const shown = (analysis.count ?? 0) > 0 ? percent(ratio) : '—';
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**SmartCache** analysis hit ratio: ${shown}`);
    md.appendMarkdown(` (${analysis.hits ?? 0} of ${analysis.count ?? 0} answered from the cache)\n\n`);
    for (const [name, tier] of Object.entries(stats.tiers ?? {})) {
        md.appendMarkdown(`- ${name} tier: ${percent(tier.hitRatio)} hits\n`);
    }
    md.appendMarkdown(`- prefetch accuracy: ${percent(stats.prefetch?.accuracy)}\n\n`);
    md.appendMarkdown('Click for statistics.');
    statusItem.text = `$(database) SmartCache ${shown}`;
    statusItem.tooltip = md;
    statusItem.backgroundColor = undefined;
    statusItem.accessibilityInformation = { label: `SmartCache analysis hit ratio ${shown}` };
    statusItem.show();
}

function restartStatusTimer(): void {
    if (statusTimer) {
        clearInterval(statusTimer);
    }
    statusTimer = setInterval(() => void refreshStatus(), getExtensionSettings().refreshSeconds * 1000);
}

async function openPredictedFile(): Promise<void> {
    if (!running()) {
        void vscode.window.showWarningMessage('SmartCache: the server is not running.');
        return;
    }
    const current = fileUri(vscode.window.activeTextEditor);
    const predictions = (await request<Prediction[]>(METHODS.predict, current ? { uri: current, k: 10 } : { k: 10 })) ?? [];
    if (predictions.length === 0) {
        void vscode.window.showInformationMessage('SmartCache has no predictions yet: open a few files first.');
        return;
    }
    const items = predictions.map((p) => {
        const uri = vscode.Uri.parse(p.uri);
        return {
            label: vscode.workspace.asRelativePath(uri, false),
            description: `${(p.probability * 100).toFixed(0)}%`,
            detail: p.reason,
            uri,
        };
    });
    const picked = await vscode.window.showQuickPick(items, {
        title: 'SmartCache: files you are likely to open next',
        placeHolder: 'Open a predicted file',
        matchOnDescription: true,
        matchOnDetail: true,
    });
    if (picked) {
        await vscode.window.showTextDocument(picked.uri, { preview: false });
    }
}

async function clearCache(): Promise<void> {
    if (!running()) {
        void vscode.window.showWarningMessage('SmartCache: the server is not running.');
        return;
    }
    const scopes = [
        { label: 'Memory tier', description: 'drop what is held in memory', scope: 'memory' },
        { label: 'All tiers', description: 'memory, disk (SQLite) and Redis', scope: 'all' },
    ];
    const picked = await vscode.window.showQuickPick(scopes, { title: 'SmartCache: clear which cache?' });
    if (!picked) {
        return;
    }
    await request(METHODS.clear, { scope: picked.scope });
    void vscode.window.showInformationMessage(`SmartCache: cleared ${picked.scope === 'all' ? 'all tiers' : 'the memory tier'}.`);
    await refreshStatus();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    output = vscode.window.createOutputChannel(SERVER_NAME);
    traceOutput = vscode.window.createOutputChannel(`${SERVER_NAME} Trace`);
    statusItem = vscode.window.createStatusBarItem('smartcache.status', vscode.StatusBarAlignment.Right, 100);
    statusItem.name = 'SmartCache';
    statusItem.command = 'smartcache.showStatistics';
    showStatus('$(sync~spin) SmartCache', 'SmartCache is starting');
    context.subscriptions.push(output, traceOutput, statusItem);

    const restart = () => serialized(startServer);
    context.subscriptions.push(
        vscode.commands.registerCommand('smartcache.restartServer', async () => {
            await restart();
            if (running()) {
                void vscode.window.showInformationMessage('SmartCache: server restarted.');
            }
        }),
        vscode.commands.registerCommand('smartcache.showStatistics', () => {
            StatsView.show(() => request<Stats>(METHODS.stats, {}), getExtensionSettings().refreshSeconds);
        }),
        vscode.commands.registerCommand('smartcache.openPredictedFile', openPredictedFile),
        vscode.commands.registerCommand('smartcache.clearCache', clearCache),
        vscode.window.onDidChangeActiveTextEditor((editor) => void onActiveEditor(editor)),
        vscode.workspace.onDidChangeConfiguration(async (e) => {
            if (affects(e, ['statusBar.refreshSeconds'])) {
                restartStatusTimer();
            }
            if (affects(e, RESTART_SETTINGS)) {
                log('a setting that needs a new server changed: restarting');
                await restart();
            } else if (affects(e, LIVE_SETTINGS)) {
                const c = running();
                if (c) {
                    log('settings changed: sending them to the server');
                    await pushSettings(c);
                }
            }
        }),
        onDidChangeInterpreter(async () => {
            if (!getExtensionSettings().interpreter) {
                log("the Python extension's active environment changed: restarting");
                await restart();
            }
        }),
        { dispose: () => statusTimer && clearInterval(statusTimer) },
    );
    restartStatusTimer();
    mcpChanged = registerMcpServers(
        context.subscriptions,
        async (folder) => {
            const found = interpreter ?? (await findInterpreter(folder.uri));
            return (await checkServerImportable(found.path)).ok ? mcpCommand(found, folder.uri.fsPath) : undefined;
        },
        String(context.extension?.packageJSON?.version ?? '0'),
        log,
    );
    await watchPythonExtension(context.subscriptions);
    await restart();
}

export async function deactivate(): Promise<void> {
    if (statusTimer) {
        clearInterval(statusTimer);
    }
    await serialized(stopServer);
}
