// The Luma view: one result (or the history) beside the tool call. It shows the images, follows a
// pending job until it is done (no agent turn needed), and offers edit, more like this, split,
// use as reference (each paid: the price on the button, asked once) and download.
import { App, applyDocumentTheme, applyHostFonts, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";
import type { McpUiHostContext } from "@modelcontextprotocol/ext-apps";
import { delay, h, since } from "./dom";
import { Server } from "./server";
import {
  type Generation,
  type GenerationList,
  type GenerationResult,
  type Offer,
  type Output,
  isList,
  isResult,
  members,
  pending,
  priceOf,
  usd,
} from "./shapes";

const POLL_MS = 1500;

type Screen = { kind: "result"; result: GenerationResult } | { kind: "list"; list: GenerationList };
interface Ask {
  offer: Offer;
  stage: "prompt" | "confirm";
  prompt: string;
}

const root = document.getElementById("view") as HTMLElement;
const app = new App({ name: "luma-agents-view", version: "1.0.0" }, {}, { autoResize: true });
const server = new Server(app);

let screen: Screen | null = null;
const back: Screen[] = [];
let epoch = 0; // bumped whenever the screen changes: a poll of an older screen stops
const offers = new Map<string, Offer[]>(); // "<id>/<index>" → its priced actions
const images = new Map<string, string>(); // "<id>/<index>/<size>" → data: URI
const hidden = new Set<string>(); // layers toggled off
let selected: string | null = null;
let ask: Ask | null = null;
let busy = false;
let problem: string | null = null;
let zoomed = false;

const keyOf = (id: string, index: number) => `${id}/${index}`;

function applyContext(context: McpUiHostContext | undefined): void {
  if (!context) return;
  if (context.theme) applyDocumentTheme(context.theme);
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
  if (context.styles?.css?.fonts) applyHostFonts(context.styles.css.fonts);
  if (context.displayMode) zoomed = context.displayMode === "fullscreen";
}

function markPainted(name: "paintedAt" | "imagePaintedAt"): void {
  requestAnimationFrame(() =>
    setTimeout(() => {
      document.documentElement.dataset[name] ??= String(Date.now());
    }),
  );
}

// ---- what arrives: a result of the model's call, or of the view's own ----

function show(data: unknown, remember = false): void {
  if (remember && screen) back.push(screen);
  epoch += 1;
  ask = null;
  problem = null;
  if (isList(data)) {
    screen = { kind: "list", list: data };
    render();
    void thumbnails(epoch, data);
  } else if (isResult(data)) {
    screen = { kind: "result", result: data };
    selected = null;
    render();
    void follow(epoch);
  } else {
    root.replaceChildren(h("p", { class: "note" }, "This result has nothing to show."));
  }
  markPainted("paintedAt");
}

/** Look at the result's generations until none is pending; then fetch their images. */
async function follow(mine: number): Promise<void> {
  while (mine === epoch && screen?.kind === "result") {
    const ids = members(screen.result).map((g) => g.generation_id);
    try {
      const looked = await server.look(ids);
      if (mine !== epoch) return;
      screen = { kind: "result", result: looked };
      for (const image of looked.offers ?? []) offers.set(keyOf(image.generation_id, image.output_index), image.offers);
      problem = null;
    } catch (error) {
      problem = `Could not look at the job: ${(error as Error).message}`;
    }
    render();
    void pictures(mine, screen.result);
    if (!members(screen.result).some(pending)) return;
    await delay(POLL_MS);
  }
}

async function pictures(mine: number, result: GenerationResult): Promise<void> {
  const finished = members(result).filter((g) => g.state === "completed");
  const several = finished.reduce((n, g) => n + g.outputs.length, 0) > 1;
  for (const generation of finished) {
    const size = several && generation.type !== "layering" ? "thumbnail" : "display";
    await Promise.all(generation.outputs.map((output) => picture(mine, generation.generation_id, output.index, size)));
  }
}

async function picture(mine: number, id: string, index: number, size: "display" | "thumbnail"): Promise<void> {
  const key = `${keyOf(id, index)}/${size}`;
  if (images.has(key)) return;
  try {
    images.set(key, await server.rendition(id, index, size));
  } catch (error) {
    problem = `Could not load the image: ${(error as Error).message}`;
  }
  if (mine === epoch) render();
}

async function thumbnails(mine: number, list: GenerationList): Promise<void> {
  await Promise.all(
    list.generations.filter((entry) => entry.state === "completed").map((entry) => picture(mine, entry.generation_id, 0, "thumbnail")),
  );
}

// ---- what the user does ----

/** The user has just confirmed this price in the view: it goes to the server as the call's
 * `confirm_spend_usd` (the offer's price is the server's quote for these arguments), so a server
 * that asks before big spends (LUMA_MCP_CONFIRM_ABOVE_USD) does not ask again. */
function confirmed(args: Record<string, unknown>, offer: Offer): Record<string, unknown> {
  return { ...args, confirm_spend_usd: offer.usd };
}

async function spend(offer: Offer, prompt: string): Promise<void> {
  busy = true;
  render();
  const args = confirmed({ ...offer.arguments, ...(offer.needs_prompt ? { prompt } : {}) }, offer);
  try {
    const result = await server.call(offer.tool, args);
    const made = result.structuredContent as unknown as GenerationResult;
    void app
      .updateModelContext({
        content: [{ type: "text", text: `In the Luma view the user chose "${offer.label}" (${offer.tool}${prompt ? `: "${prompt}"` : ""}) for ${usd(offer.usd)}: generation ${made.generation_id}.` }],
      })
      .catch(() => undefined);
    busy = false;
    show(made, true);
  } catch (error) {
    busy = false;
    problem = (error as Error).message;
    render();
  }
}

async function download(generation: Generation, output: Output): Promise<void> {
  try {
    const fresh = members(await server.look([generation.generation_id]))[0]?.outputs[output.index] ?? output;
    const name = fresh.path?.split(/[\\/]/).pop() ?? `${generation.generation_id}-${output.index + 1}`;
    const url = fresh.link ?? fresh.url; // the bucket's copy, where there is one: it outlives the API's hour
    if (app.getHostCapabilities()?.downloadFile) {
      await app.downloadFile({ contents: [{ type: "resource_link", uri: url, name, mimeType: fresh.media_type ?? undefined }] });
    } else {
      await app.openLink({ url });
    }
  } catch (error) {
    problem = `Could not download: ${(error as Error).message}`;
    render();
  }
}

async function open(id: string): Promise<void> {
  try {
    show(await server.look([id]), true);
  } catch (error) {
    problem = (error as Error).message;
    render();
  }
}

async function zoom(): Promise<void> {
  const want = zoomed ? "inline" : "fullscreen";
  zoomed = !zoomed;
  if (app.getHostContext()?.availableDisplayModes?.includes(want)) {
    const got = await app.requestDisplayMode({ mode: want }).catch(() => null);
    if (got) zoomed = got.mode === "fullscreen";
  }
  render();
}

// ---- drawing ----

function render(): void {
  const typing = ask?.stage === "prompt";
  root.classList.toggle("zoomed", zoomed);
  const parts: (HTMLElement | null)[] = [];
  if (back.length) parts.push(h("button", { class: "back", "data-do": "back", onclick: () => goBack() }, "← Back"));
  if (screen?.kind === "list") parts.push(listing(screen.list));
  if (screen?.kind === "result") {
    const all = members(screen.result);
    parts.push(all.length > 1 ? setCard(screen.result, all) : card(all[0]));
    parts.push(actions(screen.result));
  }
  if (problem) parts.push(h("p", { class: "error", role: "alert" }, problem));
  root.replaceChildren(...parts.filter((part): part is HTMLElement => part !== null));
  if (typing) root.querySelector<HTMLTextAreaElement>("textarea")?.focus();
}

function goBack(): void {
  const previous = back.pop();
  if (!previous) return;
  if (previous.kind === "list") show(previous.list);
  else show(previous.result);
}

function facts(generation: Generation, cost: number | null | undefined, estimate: boolean | undefined): HTMLElement {
  const size = generation.outputs[0]?.width ? `${generation.outputs[0].width}×${generation.outputs[0].height}` : null;
  const price = cost != null ? `${estimate ? "≈ " : ""}${usd(cost)}` : null;
  const shown = [generation.model, generation.type.replace("_", " "), size, price].filter(Boolean) as string[];
  return h("div", { class: "meta" }, shown.map((fact) => h("span", {}, fact)));
}

function waiting(generation: Generation): HTMLElement {
  return h(
    "div",
    { class: "pending", "data-role": "pending", "data-state": generation.state },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    h("span", {}, `${generation.state === "queued" ? "Queued" : "Processing"} · `, h("span", { "data-role": "elapsed", "data-since": generation.created_at }, since(generation.created_at))),
  );
}

function failure(generation: Generation): HTMLElement {
  return h("p", { class: "error" }, `Failed: ${generation.failure_reason ?? "no reason given"}`);
}

function savedPaths(generations: Generation[]): HTMLElement | null {
  const saved = generations.flatMap((generation) => generation.outputs.filter((output) => output.path));
  return saved.length ? h("div", { class: "meta" }, "Saved: ", saved.map((output) => h("code", { "data-role": "path" }, output.path ?? ""))) : null;
}

function card(generation: Generation): HTMLElement {
  let body: HTMLElement;
  if (pending(generation)) body = waiting(generation);
  else if (generation.state === "failed") body = failure(generation);
  else if (generation.type === "layering") body = layers(generation);
  else body = h("div", { class: `images${generation.outputs.length === 1 ? " one" : ""}` }, generation.outputs.map((output) => tile(generation, output)));
  return h(
    "section",
    { class: "card", "data-generation": generation.generation_id, "data-state": generation.state },
    generation.prompt ? h("p", { class: "prompt" }, generation.prompt) : null,
    facts(generation, generation.cost_usd, generation.cost_is_estimate),
    body,
    savedPaths([generation]),
    generation.warnings.length ? h("div", { class: "meta" }, generation.warnings.join(" ")) : null,
  );
}

/** Several generations of one call (count): one grid, a tile each, pending ones live in place. */
function setCard(result: GenerationResult, all: Generation[]): HTMLElement {
  return h(
    "section",
    { class: "card", "data-state": result.state },
    result.prompt ? h("p", { class: "prompt" }, result.prompt) : null,
    facts(all[0], result.cost_usd, result.cost_is_estimate),
    h(
      "div",
      { class: "images" },
      all.map((generation, number) =>
        h(
          "div",
          { "data-generation": generation.generation_id, "data-state": generation.state },
          pending(generation) ? waiting(generation) : generation.state === "failed" ? failure(generation) : generation.outputs.map((output) => tile(generation, output, `#${number + 1}`)),
        ),
      ),
    ),
    savedPaths(all),
    result.warnings.length ? h("div", { class: "meta" }, result.warnings.join(" ")) : null,
  );
}

function img(id: string, index: number, size: "display" | "thumbnail", alt: string, extra = ""): HTMLElement | null {
  const source = images.get(`${keyOf(id, index)}/${size}`) ?? (size === "thumbnail" ? images.get(`${keyOf(id, index)}/display`) : undefined);
  if (!source) return null;
  const element = h("img", { src: source, alt, class: extra, "data-generation": id, "data-output": index, "data-size": size }) as HTMLImageElement;
  element.addEventListener("load", () => markPainted("imagePaintedAt"));
  return element;
}

function tile(generation: Generation, output: Output, caption = `#${output.index + 1}`): HTMLElement {
  const key = keyOf(generation.generation_id, output.index);
  const several = generation.outputs.length > 1 || (screen?.kind === "result" && members(screen.result).length > 1);
  const size = several ? "thumbnail" : "display";
  const label = `${generation.prompt ?? "image"} (${output.index + 1})`;
  return h(
    "figure",
    { class: several && selectedKey() === key ? "selected" : "", "data-key": key },
    h("div", { class: "frame", onclick: () => (several ? select(key) : void zoom()) }, img(generation.generation_id, output.index, size, label)),
    several ? h("figcaption", {}, caption) : null,
  );
}

function layers(generation: Generation): HTMLElement {
  const id = generation.generation_id;
  const stack = [...generation.outputs].reverse(); // the background first, the front on top
  return h(
    "div",
    {},
    h(
      "div",
      { class: "frame checker stack", "data-role": "layers" },
      stack.map((output) => img(id, output.index, "display", output.layer?.label ?? `layer ${output.index}`, hidden.has(keyOf(id, output.index)) ? "off" : "")),
    ),
    h(
      "div",
      { class: "layers" },
      generation.outputs.map((output) => {
        const key = keyOf(id, output.index);
        return h(
          "label",
          { title: output.layer?.description ?? "" },
          h("input", { type: "checkbox", checked: !hidden.has(key), "data-layer": output.index, onchange: () => toggle(key) }),
          h("button", { class: selectedKey() === key ? "primary" : "", onclick: () => select(key) }, `${output.index} ${output.layer?.label ?? ""}`),
        );
      }),
    ),
  );
}

function toggle(key: string): void {
  if (hidden.has(key)) hidden.delete(key);
  else hidden.add(key);
  render();
}

function select(key: string): void {
  selected = key;
  ask = null;
  render();
}

function selectedKey(): string | null {
  if (selected) return selected;
  if (screen?.kind !== "result") return null;
  const first = members(screen.result).find((g) => g.state === "completed" && g.outputs.length);
  return first ? keyOf(first.generation_id, 0) : null;
}

function actions(result: GenerationResult): HTMLElement | null {
  const key = selectedKey();
  if (!key) return null;
  const [id, index] = key.split("/");
  const generation = members(result).find((g) => g.generation_id === id);
  const output = generation?.outputs[Number(index)];
  if (!generation || !output) return null;
  const priced = offers.get(key) ?? [];
  const buttons = [
    ...priced.map((offer) =>
      h("button", { "data-action": offer.action, disabled: busy, onclick: () => begin(offer) }, `${offer.label} · ${priceOf(offer)}`),
    ),
    h("button", { "data-action": "download", onclick: () => void download(generation, output) }, "Download"),
    h("button", { "data-action": "zoom", onclick: () => void zoom() }, zoomed ? "Back to size" : "Zoom"),
  ];
  return h("div", { class: "ask-wrap" }, h("div", { class: "actions", "data-role": "actions" }, buttons), ask ? asking(ask) : null, busy ? h("p", { class: "note" }, "Sending…") : null);
}

function begin(offer: Offer): void {
  ask = { offer, stage: offer.needs_prompt ? "prompt" : "confirm", prompt: "" };
  problem = null;
  render();
}

function asking(current: Ask): HTMLElement {
  const { offer } = current;
  const cancel = h("button", { "data-do": "cancel", onclick: () => ((ask = null), render()) }, "Cancel");
  if (current.stage === "prompt") {
    const box = h("textarea", { "data-role": "prompt", placeholder: offer.action === "edit" ? "What to change, e.g. make it night" : "What to make with it" }) as HTMLTextAreaElement;
    box.value = current.prompt;
    box.addEventListener("input", () => (current.prompt = box.value));
    const next = () => {
      if (!current.prompt.trim()) return;
      current.stage = "confirm";
      render();
    };
    return h("div", { class: "ask" }, box, h("div", { class: "actions" }, h("button", { class: "primary", "data-do": "continue", onclick: next }, `${offer.label} · ${priceOf(offer)}`), cancel));
  }
  // Asked once, here: the only confirmation before the call spends.
  return h(
    "div",
    { class: "ask", "data-role": "confirm" },
    h("p", {}, `${offer.label}${current.prompt ? ` ("${current.prompt}")` : ""} costs ${priceOf(offer)}${offer.estimate ? " (an estimate)" : ""}. Spend it?`),
    h("div", { class: "actions" }, h("button", { class: "primary", "data-do": "spend", disabled: busy, onclick: () => void spend(offer, current.prompt.trim()) }, `Spend ${priceOf(offer)}`), cancel),
  );
}

function listing(list: GenerationList): HTMLElement {
  if (!list.generations.length) return h("p", { class: "note" }, "Nothing made yet.");
  return h(
    "section",
    { class: "card" },
    h("div", { class: "meta" }, `${list.generations.length} generation(s), most recent first`),
    h(
      "div",
      { class: "grid", "data-role": "grid" },
      list.generations.map((entry) =>
        h(
          "figure",
          { "data-generation": entry.generation_id, title: entry.prompt ?? "", onclick: () => void open(entry.generation_id) },
          h("div", { class: "frame checker" }, img(entry.generation_id, 0, "thumbnail", entry.prompt ?? entry.generation_id)),
          h("figcaption", {}, entry.prompt ?? `(${entry.state})`),
        ),
      ),
    ),
  );
}

// ---- wiring ----

setInterval(() => {
  for (const element of root.querySelectorAll<HTMLElement>("[data-role=elapsed]")) element.textContent = since(element.dataset.since ?? "");
}, 1000);

app.ontoolinput = ({ arguments: args }) => {
  if (screen) return;
  const prompt = typeof args?.prompt === "string" ? args.prompt : null;
  root.replaceChildren(h("p", { class: "note", "data-role": "starting" }, prompt ? `Starting: ${prompt}` : "Starting…"));
};
app.ontoolresult = (result) => {
  back.length = 0; // a call of the model's own starts afresh
  show(result.structuredContent);
};
app.ontoolcancelled = () => {
  if (!screen) root.replaceChildren(h("p", { class: "note" }, "The call was cancelled."));
};
app.onhostcontextchanged = (context) => {
  applyContext(context);
  render();
};

await app.connect();
applyContext(app.getHostContext());
