// The `smartcache.*` configuration: what the extension itself uses, and what it
// sends to the server (initializationOptions and workspace/didChangeConfiguration,
// camelCase names as in the server's contract).
import * as os from 'os';
import * as path from 'path';
import { ConfigurationChangeEvent, WorkspaceConfiguration, workspace } from 'vscode';

export const SECTION = 'smartcache';

/** Settings the server understands (its `Settings`), exactly as sent on the wire. */
export interface ServerSettings {
    maxMemoryMB: number;
    maxDiskMB: number;
    ttlSeconds: number;
    maxFileKB: number;
    prefetch: { enabled: boolean; topK: number; threshold: number; maxFiles: number; maxKB: number };
    redisUrl: string | null;
    shareAnalyses: boolean;
    cacheDir: string | null;
}

/** Settings whose change needs a new server process (they are read at start-up). */
export const RESTART_SETTINGS = ['interpreter', 'cacheDir', 'logLevel', 'redisUrl', 'shareAnalyses'];

/** Every setting that, when changed, is sent to the running server. */
export const LIVE_SETTINGS = ['maxMemoryMB', 'maxDiskMB', 'ttlSeconds', 'maxFileKB', 'prefetch'];

function config(): WorkspaceConfiguration {
    return workspace.getConfiguration(SECTION, workspace.workspaceFolders?.[0]?.uri);
}

/** `~` and `${workspaceFolder}` (and `${userHome}`) expanded; empty strings become undefined. */
export function expandPath(value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) {
        return undefined;
    }
    let out = value.trim();
    if (out === '') {
        return undefined;
    }
    const folder = workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    out = out.replace(/\$\{workspaceFolder\}/g, folder).replace(/\$\{userHome\}/g, os.homedir());
    if (out === '~' || out.startsWith('~/')) {
        out = path.join(os.homedir(), out.slice(1));
    }
    return out;
}

function num(cfg: WorkspaceConfiguration, key: string, fallback: number): number {
    const value = cfg.get<unknown>(key);
    return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function getServerSettings(): ServerSettings {
    const cfg = config();
    const redis = cfg.get<string | null>('redisUrl');
    return {
        maxMemoryMB: num(cfg, 'maxMemoryMB', 256),
        maxDiskMB: num(cfg, 'maxDiskMB', 1024),
        ttlSeconds: num(cfg, 'ttlSeconds', 604800),
        maxFileKB: Math.round(num(cfg, 'maxFileKB', 2048)),
        prefetch: {
            enabled: cfg.get<boolean>('prefetch.enabled', true) !== false,
            topK: Math.round(num(cfg, 'prefetch.topK', 3)),
            threshold: num(cfg, 'prefetch.threshold', 0.05),
            maxFiles: Math.round(num(cfg, 'prefetch.maxFiles', 32)),
            maxKB: Math.round(num(cfg, 'prefetch.maxKB', 1024)),
        },
        redisUrl: typeof redis === 'string' && redis.trim() !== '' ? redis.trim() : null,
        shareAnalyses: cfg.get<boolean>('shareAnalyses', false) === true,
        cacheDir: expandPath(cfg.get<string | null>('cacheDir')) ?? null,
    };
}

export interface ExtensionSettings {
    interpreter: string | undefined;
    logLevel: string;
    refreshSeconds: number;
}

export function getExtensionSettings(): ExtensionSettings {
    const cfg = config();
    const level = cfg.get<string>('logLevel', 'INFO');
    return {
        interpreter: expandPath(cfg.get<string>('interpreter')),
        logLevel: ['DEBUG', 'INFO', 'WARNING', 'ERROR'].includes(level) ? level : 'INFO',
        refreshSeconds: Math.max(0.5, num(cfg, 'statusBar.refreshSeconds', 2)),
    };
}

export function affects(e: ConfigurationChangeEvent, keys: string[]): boolean {
    return keys.some((key) => e.affectsConfiguration(`${SECTION}.${key}`));
}
