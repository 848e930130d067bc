// What the view asks of the server, through the host: the app-only tools (a look at generations,
// renditions) and the paid tools the offers name. Images arrive as image blocks and are shown as
// data: URIs, so the view needs no storage host in its CSP.
import type { App } from "@modelcontextprotocol/ext-apps";
import type { GenerationResult } from "./shapes";

type CallResult = Awaited<ReturnType<App["callServerTool"]>>;

export class ServerError extends Error {}

function textOf(result: CallResult): string {
  return result.content
    .map((block) => (block.type === "text" ? block.text : ""))
    .join("\n")
    .trim();
}

export class Server {
  private running = 0;
  private queue: (() => void)[] = [];

  constructor(private readonly app: App) {}

  /** Call a tool; an error result becomes a `ServerError` with the server's own words. */
  async call(name: string, args: Record<string, unknown>): Promise<CallResult> {
    const result = await this.app.callServerTool({ name, arguments: args });
    if (result.isError) throw new ServerError(textOf(result) || `${name} failed`);
    return result;
  }

  /** One look at generations (no previews), with the priced offers on each finished image. */
  async look(ids: string[]): Promise<GenerationResult> {
    const result = await this.call("view_generations", { generation_ids: ids });
    return result.structuredContent as unknown as GenerationResult;
  }

  /** A rendition as a data: URI; a few at a time, so a grid does not flood the host. */
  async rendition(id: string, index: number, size: "display" | "thumbnail"): Promise<string> {
    await this.slot();
    try {
      const result = await this.call("view_image", { generation_id: id, output_index: index, size });
      const image = result.content.find((block) => block.type === "image");
      if (!image || image.type !== "image") throw new ServerError("no image in the answer");
      return `data:${image.mimeType};base64,${image.data}`;
    } finally {
      this.running -= 1;
      this.queue.shift()?.();
    }
  }

  private async slot(): Promise<void> {
    if (this.running >= 3) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running += 1;
  }
}
