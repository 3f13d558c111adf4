// Registers `smartcache-ls mcp` (one MCP server per workspace folder) with VS Code's agent mode,
// where the running VS Code has the MCP server definition provider API: VS Code 1.101 and newer.
// Older VS Code (1.82-1.100, code-server 4.99) lacks it: nothing is registered there, and a
// `.vscode/mcp.json` added by hand (see the README) does the same. The API is newer than the
// @types/vscode this extension builds against (engines.vscode stays ^1.82.0), so it is reached
// through a feature check and the few types it needs are declared here.
import * as vscode from 'vscode';

export const MCP_PROVIDER_ID = 'smartcache.mcpServers';

interface McpStdioServerDefinition {
    cwd?: vscode.Uri;
}

type McpStdioServerDefinitionClass = new (
    label: string,
    command: string,
    args?: string[],
    env?: Record<string, string | number | null>,
    version?: string,
) => McpStdioServerDefinition;

interface McpServerDefinitionProvider {
    onDidChangeMcpServerDefinitions?: vscode.Event<void>;
    provideMcpServerDefinitions(token: vscode.CancellationToken): vscode.ProviderResult<McpStdioServerDefinition[]>;
}

interface McpLanguageModelApi {
    registerMcpServerDefinitionProvider(id: string, provider: McpServerDefinitionProvider): vscode.Disposable;
}

/** The command line of `smartcache-ls mcp` for one folder, or undefined when no Python has smartcache_ls. */
export type McpCommand = (folder: vscode.WorkspaceFolder) => Promise<{ command: string; args: string[] } | undefined>;

/** VS Code's MCP API when this VS Code has it (1.101+), else undefined. */
export function mcpApi(): { lm: McpLanguageModelApi; Definition: McpStdioServerDefinitionClass } | undefined {
    const api = vscode as unknown as {
        lm?: Partial<McpLanguageModelApi>;
        McpStdioServerDefinition?: McpStdioServerDefinitionClass;
    };
    if (typeof api.lm?.registerMcpServerDefinitionProvider !== 'function' || typeof api.McpStdioServerDefinition !== 'function') {
        return undefined;
    }
    return { lm: api.lm as McpLanguageModelApi, Definition: api.McpStdioServerDefinition };
}

/**
 * Registers the provider; returns the event to fire when its definitions change (interpreter,
 * cache dir or folders), or undefined when this VS Code has no MCP API.
 */
export function registerMcpServers(
    subscriptions: vscode.Disposable[],
    commandFor: McpCommand,
    version: string,
    log: (message: string) => void,
): vscode.EventEmitter<void> | undefined {
    const api = mcpApi();
    if (!api) {
        log(`MCP: this VS Code (${vscode.version}) has no MCP server definition API (1.101+): not registering smartcache-ls mcp`);
        return undefined;
    }
    const changed = new vscode.EventEmitter<void>();
    const provider: McpServerDefinitionProvider = {
        onDidChangeMcpServerDefinitions: changed.event,
        provideMcpServerDefinitions: async () => {
            const definitions: McpStdioServerDefinition[] = [];
            for (const folder of vscode.workspace.workspaceFolders ?? []) {
                if (folder.uri.scheme !== 'file') {
                    continue;
                }
                const cmd = await commandFor(folder);
                if (!cmd) {
                    continue;
                }
                const definition = new api.Definition(`SmartCache: ${folder.name}`, cmd.command, cmd.args, { PYTHONUTF8: '1' }, version);
                definition.cwd = folder.uri;
                definitions.push(definition);
            }
            return definitions;
        },
    };
    let registration: vscode.Disposable;
    try {
        // 1.99-1.100 have the API as a proposal, which throws for extensions that did not enable it.
        registration = api.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, provider);
    } catch (err) {
        changed.dispose();
        log(`MCP: this VS Code (${vscode.version}) refused the MCP server definition provider: ${String(err)}`);
        return undefined;
    }
    subscriptions.push(changed, registration, vscode.workspace.onDidChangeWorkspaceFolders(() => changed.fire()));
    log('MCP: registered smartcache-ls mcp for the workspace folders');
    return changed;
}
