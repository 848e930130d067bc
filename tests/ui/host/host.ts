// A small MCP Apps host for the browser test, on the ext-apps library's own host side (AppBridge):
// it loads the server's ui:// view into a sandboxed iframe under the hosts' default CSP, relays the
// view's tools/call and resources/read to a real MCP client session (window.mcp, given to the page
// by the test), pushes tool results to it, and records what the view asks of the host.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
import type { McpUiHostContext } from "@modelcontextprotocol/ext-apps/app-bridge";

declare global {
  interface Window {
    /** Set by the test: one MCP request through its client session, answered as JSON. */
    mcp(method: string, params: unknown): Promise<any>;
    host: typeof host;
  }
}

/** What hosts apply to a view by default (MCP Apps spec): data: images, no network at all. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'";

const THEMES: Record<"light" | "dark", McpUiHostContext> = {
  light: { theme: "light", styles: { variables: { "--color-background-primary": "#ffffff", "--color-ring-primary": "#7c3aed" } as never } },
  dark: { theme: "dark", styles: { variables: { "--color-background-primary": "#18181b", "--color-ring-primary": "#a78bfa" } as never } },
};

const iframe = document.getElementById("view") as HTMLIFrameElement;
const log = {
  calls: [] as { name: string; arguments: unknown }[],
  opened: [] as string[],
  downloads: [] as unknown[],
  context: [] as unknown[],
  heights: [] as number[],
  sentAt: 0,
};

const bridge = new AppBridge(
  null,
  { name: "luma-test-host", version: "1.0.0" },
  { openLinks: {}, downloadFile: {}, serverTools: {}, serverResources: {}, updateModelContext: { text: {} } },
  {
    hostContext: {
      ...THEMES.light,
      displayMode: "inline",
      availableDisplayModes: ["inline", "fullscreen"],
      containerDimensions: { width: 720, maxHeight: 6000 },
      platform: "web",
      locale: "en-US",
    },
  },
);
bridge.oncalltool = async (params) => {
  log.calls.push({ name: params.name, arguments: params.arguments });
  return window.mcp("tools/call", params);
};
bridge.onreadresource = async (params) => window.mcp("resources/read", params);
bridge.onopenlink = async ({ url }) => (log.opened.push(url), {});
bridge.ondownloadfile = async ({ contents }) => (log.downloads.push(contents), {});
bridge.onupdatemodelcontext = async (params) => (log.context.push(params), {});
bridge.onrequestdisplaymode = async ({ mode }) => ({ mode });
bridge.onsizechange = ({ height }) => {
  if (height) {
    iframe.style.height = `${Math.ceil(height)}px`;
    log.heights.push(height);
  }
};

const host = {
  log,
  /** Read the view from the server and start it; resolves once it has initialized. */
  async load(uri: string): Promise<void> {
    const read = await window.mcp("resources/read", { uri });
    const html: string = read.contents[0].text;
    const initialized = new Promise<void>((resolve) => (bridge.oninitialized = () => resolve()));
    await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
    iframe.srcdoc = html.replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${CSP}">`);
    await initialized;
  },
  /** A tool call the model made: its input, then its result. */
  async result(input: Record<string, unknown>, result: any): Promise<void> {
    await bridge.sendToolInput({ arguments: input });
    log.sentAt = Date.now();
    await bridge.sendToolResult(result);
  },
  async theme(name: "light" | "dark"): Promise<void> {
    document.body.classList.toggle("dark", name === "dark");
    await bridge.sendHostContextChange(THEMES[name]);
  },
};
window.host = host;
