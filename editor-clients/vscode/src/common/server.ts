// Starting and stopping the smartcache_ls language server, and its custom requests.
import { OutputChannel, workspace } from 'vscode';
import {
    DidChangeConfigurationNotification,
    LanguageClient,
    LanguageClientOptions,
    RevealOutputChannelOn,
    ServerOptions,
} from 'vscode-languageclient/node';
import { Interpreter } from './python';
import { getExtensionSettings, getServerSettings } from './settings';

export const SERVER_ID = 'smartcache';
export const SERVER_NAME = 'SmartCache';

// Custom methods (the server's smartcache_ls/protocol.py).
export const METHODS = {
    stats: 'smartcache/stats',
    predict: 'smartcache/predict',
    getFile: 'smartcache/getFile',
    getAnalysis: 'smartcache/getAnalysis',
    prefetch: 'smartcache/prefetch',
    clear: 'smartcache/clear',
    didFocus: 'smartcache/didFocus',
} as const;

export interface TierStats {
    hits?: number;
    misses?: number;
    hitRatio?: number | null;
    entries?: number;
    bytes?: number;
    maxBytes?: number;
    evictions?: number;
    [key: string]: unknown;
}

export interface RequestStats {
    count?: number;
    hits?: number;
    misses?: number;
    hitRatio?: number | null;
}

export interface Stats {
    version?: string;
    uptimeSeconds?: number;
    cacheDir?: string;
    workspaces?: { uri: string; name: string | null }[];
    tiers?: Record<string, TierStats>;
    prefetch?: {
        issued?: number;
        used?: number;
        wasted?: number;
        accuracy?: number | null;
        queued?: number;
        firstVisits?: number;
        firstVisitsWarm?: number;
        prefetchedFiles?: number;
        usedFiles?: number;
        precision?: number;
        wastedBytes?: number;
        wastedCpuSeconds?: number;
        leadTimeP50?: number;
        leadTimeP95?: number;
        filesPerSwitchP95?: number;
        cpuPerSwitchP95?: number;
    };
    requests?: Record<string, RequestStats>;
    predictor?: { files?: number; transitions?: number; bytes?: number };
}

export interface Prediction {
    uri: string;
    probability: number;
    reason: string;
}

/** The command line that starts the server with this interpreter. */
export function serverCommand(interpreter: Interpreter): { command: string; args: string[] } {
    const args = ['-m', 'smartcache_ls', '--log-level', getExtensionSettings().logLevel];
    const cacheDir = getServerSettings().cacheDir;
    if (cacheDir) {
        args.push('--cache-dir', cacheDir);
    }
    return { command: interpreter.path, args };
}

/** The command line of `smartcache-ls mcp` for a folder: same interpreter and cache dir as the server. */
export function mcpCommand(interpreter: Interpreter, folderPath: string): { command: string; args: string[] } {
    const args = ['-m', 'smartcache_ls', 'mcp', '--workspace', folderPath];
    const cacheDir = getServerSettings().cacheDir;
    if (cacheDir) {
        args.push('--cache-dir', cacheDir);
    }
    return { command: interpreter.path, args };
}

export function createClient(interpreter: Interpreter, outputChannel: OutputChannel, traceChannel: OutputChannel): LanguageClient {
    const { command, args } = serverCommand(interpreter);
    const cwd = workspace.workspaceFolders?.[0]?.uri.fsPath;
    // No `transport`: with TransportKind.stdio the client would append `--stdio`,
    // which the server's command line does not take; stdio is the default anyway.
    const serverOptions: ServerOptions = {
        command,
        args,
        options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONUTF8: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
        // Every file on disk: the server learns from every open and switch.
        documentSelector: [{ scheme: 'file' }],
        outputChannel,
        traceOutputChannel: traceChannel,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        initializationOptions: getServerSettings(),
        // Some settings need a restart; the rest are pushed by pushSettings().
        synchronize: {},
        connectionOptions: { maxRestartCount: 3 },
    };
    return new LanguageClient(SERVER_ID, SERVER_NAME, serverOptions, clientOptions);
}

/** Sends the current settings to a running server (workspace/didChangeConfiguration). */
export async function pushSettings(client: LanguageClient): Promise<void> {
    await client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SERVER_ID]: getServerSettings() },
    });
}
