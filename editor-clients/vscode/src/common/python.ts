// Which Python runs the server, the way Microsoft's python-tools extension
// template does it: the `smartcache.interpreter` setting, else the Python
// extension's active environment (when ms-python.python is installed), else
// `python3` on PATH.
import { execFile } from 'child_process';
import { Disposable, Event, EventEmitter, extensions, Uri } from 'vscode';
import { getExtensionSettings } from './settings';

export const PYTHON_EXTENSION_ID = 'ms-python.python';

export interface Interpreter {
    /** The python executable. */
    path: string;
    /** Where it came from, for messages. */
    source: 'setting' | 'python-extension' | 'PATH';
}

export interface ImportCheck {
    ok: boolean;
    /** smartcache_ls.__version__ when ok. */
    version?: string;
    /** Why not, when not ok. */
    error?: string;
}

const onDidChangeInterpreterEmitter = new EventEmitter<void>();
/** Fires when the Python extension's active environment changes. */
export const onDidChangeInterpreter: Event<void> = onDidChangeInterpreterEmitter.event;

type PythonApi = import('@vscode/python-extension').PythonExtension;

async function pythonExtensionApi(): Promise<PythonApi | undefined> {
    if (!extensions.getExtension(PYTHON_EXTENSION_ID)) {
        return undefined;
    }
    try {
        // Loaded only when the Python extension exists: nothing else needs it.
        const { PythonExtension } = await import('@vscode/python-extension');
        return await PythonExtension.api();
    } catch {
        return undefined;
    }
}

/** Subscribes to the Python extension's interpreter changes, when it is installed. */
export async function watchPythonExtension(disposables: Disposable[]): Promise<void> {
    const api = await pythonExtensionApi();
    if (api) {
        disposables.push(api.environments.onDidChangeActiveEnvironmentPath(() => onDidChangeInterpreterEmitter.fire()));
    }
}

async function fromPythonExtension(resource?: Uri): Promise<string | undefined> {
    const api = await pythonExtensionApi();
    if (!api) {
        return undefined;
    }
    try {
        const env = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(resource));
        return env?.executable.uri?.fsPath;
    } catch {
        return undefined;
    }
}

export async function findInterpreter(resource?: Uri): Promise<Interpreter> {
    const configured = getExtensionSettings().interpreter;
    if (configured) {
        return { path: configured, source: 'setting' };
    }
    const active = await fromPythonExtension(resource);
    if (active) {
        return { path: active, source: 'python-extension' };
    }
    return { path: 'python3', source: 'PATH' };
}

/** Runs `python -c "import smartcache_ls"` and reports the version or the reason it failed. */
export function checkServerImportable(python: string, timeoutMs = 20000): Promise<ImportCheck> {
    const code = 'import smartcache_ls, sys; sys.stdout.write(smartcache_ls.__version__)';
    return new Promise((resolve) => {
        execFile(python, ['-c', code], { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
            if (!error) {
                resolve({ ok: true, version: stdout.trim() });
                return;
            }
            const err = error as NodeJS.ErrnoException & { killed?: boolean };
            if (err.code === 'ENOENT') {
                resolve({ ok: false, error: `no Python interpreter at "${python}"` });
            } else if (err.killed) {
                resolve({ ok: false, error: `"${python}" did not answer within ${timeoutMs / 1000} s` });
            } else {
                const lines = String(stderr).trim().split('\n');
                resolve({ ok: false, error: lines[lines.length - 1] || err.message });
            }
        });
    });
}

export function installCommand(python: string): string {
    const quoted = /[\s"'$]/.test(python) ? `"${python}"` : python;
    return `${quoted} -m pip install smartcache-ls`;
}
