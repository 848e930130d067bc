// What the server's tools return as structured content (luma_mcp/tools/result_models.py and
// luma_mcp/ui/offers.py), as far as the view reads it.

export type State = "queued" | "processing" | "completed" | "failed";

export interface Layer {
  index: number;
  label: string;
  description: string;
}

export interface Output {
  index: number;
  url: string;
  path: string | null;
  /** Where outputs go to a bucket: the server's own presigned link, longer-lived than `url`. */
  link?: string | null;
  media_type: string | null;
  width: number | null;
  height: number | null;
  size_bytes: number | null;
  layer?: Layer | null;
}

export interface Generation {
  generation_id: string;
  state: State;
  model: string;
  type: string;
  prompt: string | null;
  created_at: string;
  outputs: Output[];
  failure_reason: string | null;
  waited_seconds: number | null;
  cost_usd?: number | null;
  cost_is_estimate?: boolean;
  warnings: string[];
}

export interface GenerationResult extends Generation {
  generations?: Generation[];
  offers?: ImageOffers[];
}

export interface Offer {
  action: "edit" | "more" | "split" | "reference";
  label: string;
  tool: string;
  arguments: Record<string, unknown>;
  needs_prompt: boolean;
  usd: number;
  estimate: boolean;
}

export interface ImageOffers {
  generation_id: string;
  output_index: number;
  offers: Offer[];
}

export interface HistoryEntry {
  generation_id: string;
  prompt: string | null;
  model: string;
  state: string;
  created_at: string;
  files: { index: number; path: string }[];
}

export interface GenerationList {
  generations: HistoryEntry[];
}

export function isList(data: unknown): data is GenerationList {
  return typeof data === "object" && data !== null && Array.isArray((data as GenerationList).generations) && !("generation_id" in data);
}

export function isResult(data: unknown): data is GenerationResult {
  return typeof data === "object" && data !== null && "generation_id" in data && "state" in data;
}

/** The generations a result speaks of: its members for several, else itself. */
export function members(result: GenerationResult): Generation[] {
  return result.generations && result.generations.length ? result.generations : [result];
}

export function pending(generation: Generation): boolean {
  return generation.state === "queued" || generation.state === "processing";
}

/** `$0.0404`: four decimals below a dollar, two above (as jobs/pricing.py format_usd). */
export function usd(amount: number): string {
  return amount < 1 ? `$${amount.toFixed(4)}` : `$${amount.toFixed(2)}`;
}

export function priceOf(offer: Offer): string {
  return `${offer.estimate ? "up to " : ""}${usd(offer.usd)}`;
}
