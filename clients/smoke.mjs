// The official TypeScript SDK against the server over stdio, with its embedded emulator:
// lists the tools, generates, waits, edits by generation_id, and checks the structured results
// (the SDK also validates each one against the tool's outputSchema).
//   node smoke.mjs <python> [server args...]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { existsSync, statSync } from "node:fs";

const [command, ...args] = process.argv.slice(2);
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

const transport = new StdioClientTransport({
  command,
  args: ["-m", "luma_mcp", "--emulator", "--emulator-latency", "3", "--wait-seconds", "1", ...args],
  env: { ...process.env, LUMA_MCP_LOG_LEVEL: "WARNING" },
  stderr: "inherit",
});
const client = new Client({ name: "typescript-sdk-smoke", version: "1.0.0" });
await client.connect(transport);

const { tools } = await client.listTools();
const names = tools.map((tool) => tool.name).sort();
check(
  JSON.stringify(names) ===
    JSON.stringify([
      "edit_image",
      "generate_image",
      "get_generation",
      "get_spending",
      "list_generations",
      "split_into_layers",
      "upload_image",
      "wait_for_generation",
    ]),
  `tools/list names the eight tools (${names.join(", ")})`,
);
check(tools.every((tool) => tool.inputSchema?.type === "object" && tool.outputSchema), "each tool has input and output schemas");
const shown = ["generate_image", "edit_image", "split_into_layers", "get_generation", "wait_for_generation", "list_generations"];
check(
  shown.every((name) => tools.find((tool) => tool.name === name)?._meta?.ui?.resourceUri === "ui://luma-agents/view.html"),
  "the generating and reading tools point to the MCP App view (this client declares no Apps: the view's own tools are not listed)",
);
const view = (await client.readResource({ uri: "ui://luma-agents/view.html" })).contents[0];
check(view.mimeType === "text/html;profile=mcp-app" && view.text.startsWith("<!doctype html>"), "the view reads as one MCP App HTML file");
const generate = tools.find((tool) => tool.name === "generate_image");
check("prompt" in generate.inputSchema.properties, "generate_image's schema is flat (top-level prompt)");

async function finished(result, what) {
  let data = result.structuredContent;
  check(!result.isError && data?.generation_id, `${what} returns a generation_id`);
  if (data.state !== "completed") {
    const waited = await client.callTool({
      name: "wait_for_generation",
      arguments: { generation_id: data.generation_id, timeout_seconds: 30 },
    });
    data = waited.structuredContent;
    check(!waited.isError, `wait_for_generation after ${what} answers`);
  }
  check(data.state === "completed", `${what} completes (${data.state})`);
  const [output] = data.outputs;
  check(output && existsSync(output.path) && statSync(output.path).size === output.size_bytes, `${what} saved ${output?.path}`);
  return data;
}

const first = await finished(
  await client.callTool({ name: "generate_image", arguments: { prompt: "a fox, from TypeScript", aspect_ratio: "16:9" } }),
  "generate_image",
);
const edit = await finished(
  await client.callTool({ name: "edit_image", arguments: { prompt: "at night", source: { generation_id: first.generation_id } } }),
  "edit_image by generation_id",
);
check(edit.type === "image_edit" && edit.outputs[0].width === first.outputs[0].width, "the edit keeps the source's size");
check(first.cost_usd === 0.0404 && edit.cost_usd === 0.0434, `results say what they cost (${first.cost_usd}, ${edit.cost_usd})`);
const split = await finished(
  await client.callTool({ name: "split_into_layers", arguments: { source: { generation_id: first.generation_id } } }),
  "split_into_layers",
);
const labels = split.outputs.map((output) => output.layer.label);
check(split.outputs.length > 1 && labels.at(-1) === "background", `the layers come front to back (${labels.join(", ")})`);
const layerCall = await client.callTool({
  name: "edit_image",
  arguments: { prompt: "in red", source: { generation_id: split.generation_id, output_index: 0 } },
});
check(
  layerCall.structuredContent?.warnings.some((text) => text.includes("output 0")),
  "the edit says the layer was sent as its image",
);
await finished(layerCall, "edit_image of one layer by output_index");
const listed = await client.callTool({ name: "list_generations", arguments: { limit: 5 } });
check(
  listed.structuredContent.generations.map((entry) => entry.generation_id).includes(edit.generation_id),
  "list_generations finds the edit",
);
const spending = await client.callTool({ name: "get_spending", arguments: {} });
const spent = spending.structuredContent;
check(
  !spending.isError && Math.abs(spent.today_usd - (first.cost_usd + edit.cost_usd + split.cost_usd + 0.0434)) < 1e-6,
  `get_spending adds the calls up (${spent.today_usd})`,
);
check(first.cost_usd > 0 && spent.recent_calls.length === 4, "get_spending lists the last calls");
const invalid = await client.callTool({ name: "generate_image", arguments: { prompt: "x", aspect_ratio: "4:3" } });
check(invalid.isError && invalid.content[0].text.includes("aspect_ratio"), "an invalid argument is a tool error naming it");

await client.close();
console.log(failures.length ? `${failures.length} check(s) failed` : "all checks passed");
process.exit(failures.length ? 1 : 0);
