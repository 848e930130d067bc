"""The words a tool result speaks to the model: where each generation stands, what it cost, and
the next step."""

from __future__ import annotations

from ..jobs.pricing import format_usd
from ..jobs.report import Report
from .result_models import GenerationInfo, GenerationResult

FAILURE_ADVICE = {
    "content_moderated": "Moderation blocked it: rephrase the prompt or use other input images.",
    "budget_exhausted": "The account's budget is spent: add credits before trying again.",
    "image_too_large": "An input image is too large: use a smaller one.",
    "unsupported_format": "An input image has an unsupported format: use PNG, JPEG, WebP or a still GIF.",
    "corrupt_input": "An input image could not be decoded: use another file.",
    "invalid_request": "The request cannot be processed as given: change it.",
}
MAKERS = {"image": "generate_image", "image_edit": "edit_image", "layering": "split_into_layers"}
"""The tool that makes each type of generation: the one to call again after a transient failure."""


def next_step(report: Report, tool: str) -> str:
    generation = report.generation
    gid = generation.id
    # A look (get/wait) cannot make the image again: advise the tool that makes this kind.
    maker = tool if tool in MAKERS.values() else MAKERS.get(generation.type, "the tool that made it")
    match generation.state:
        case "completed":
            if generation.type == "layering" and report.outputs:
                edit = f'edit_image with source {{"generation_id": "{gid}", "output_index": <layer index>}}'
                kept = (
                    "" if report.files_kept else "This server keeps no files: the links hold the layers for an hour. "
                )
                return f"{kept}To change one layer, call {edit}."
            if not report.files_kept and report.outputs:
                edit = f'edit_image with source {{"generation_id": "{gid}"}}'
                return f"This server keeps no files: the links hold the images for an hour. To change one, call {edit}."
            if not report.outputs:
                return (
                    f"The job completed without an image (the API lost it; such jobs are refunded). "
                    f"Call get_generation with generation_id {gid} in a moment; if still empty, call {maker} again."
                )
            if any(o.saved is None for o in report.outputs):
                return f"Some images were not saved; call get_generation with generation_id {gid} to try again."
            edit = f'call edit_image with source {{"generation_id": "{gid}"}}'
            return f"Show the user the saved image. To change it, {edit}."
        case "failed":
            if generation.retryable:
                return f"This failure is transient: call {maker} again with the same arguments."
            advice = FAILURE_ADVICE.get(generation.failure_code or "", "Change the request before trying again.")
            return f"Sending the same request again will not help. {advice}"
        case _:
            return f"Call wait_for_generation with generation_id {gid}; the job keeps running and nothing is lost."


def set_next_step(members: list[GenerationInfo], reports: tuple[Report, ...], *, lost: bool = False) -> str:
    """The next step for several generations answered together, from each one's own."""
    steps: list[str] = []
    pending = [m.generation_id for m in members if m.state in ("queued", "processing")]
    if pending:
        done = [m.generation_id for m in members if m.state not in ("queued", "processing")]
        ids = ", ".join(f'"{gid}"' for gid in pending)
        finished = f" (done: {', '.join(done)})" if done else ""
        steps.append(f"Call wait_for_generation with generation_ids [{ids}]{finished}; the jobs keep running.")
    unsaved = [
        m.generation_id
        for m, report in zip(members, reports, strict=True)
        if m.state == "completed" and report.files_kept and any(output.saved is None for output in report.outputs)
    ]
    if unsaved:
        steps.append(f"Some images were not saved: call get_generation with generation_id {', '.join(unsaved)}.")
    steps += [f"For {m.generation_id}: {m.next_step}" for m in members if m.state == "failed"]
    if lost:
        steps.append("One image's answer was lost, so it may be charged: its warning says how to get it alone.")
    if any(m.state == "completed" for m in members) and not pending:
        steps.append(
            "Show the user the images and let them pick. To change one, call edit_image with source "
            '{"generation_id": "<its id>"}; for more like one, generate_image with it as an image_ref.'
        )
    return " ".join(steps) or members[0].next_step


def readable_size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def cost_words(result: GenerationInfo, *, reused: bool) -> str:
    if reused:
        return "Cost: nothing more (an identical earlier request's generation, already paid for)."
    if result.cost_usd is None:
        return ""
    if result.state in ("queued", "processing") and result.cost_is_estimate:
        return f"Cost: up to {format_usd(result.cost_usd)} (estimated: a split is priced per layer, 10 at most)."
    estimate = " (estimated: no price is published for this yet)" if result.cost_is_estimate else ""
    return f"Cost: {format_usd(result.cost_usd)}{estimate}."


def summary(result: GenerationInfo, reused_after: float | None, *, files_kept: bool, emulated: bool = False) -> str:
    """`emulated`: the links are the embedded emulator's, which nothing outside this server opens."""
    text = _state_summary(result, files_kept=files_kept, emulated=emulated)
    if reused_after is not None:
        text = (
            f"An identical request was made {reused_after:.0f} s ago: its generation is returned and nothing was "
            "charged again (new_variation=true asks for a new image).\n" + text
        )
    return text


def _state_summary(result: GenerationInfo, *, files_kept: bool, emulated: bool) -> str:
    gid = result.generation_id
    cost = cost_words(result, reused=result.reused)
    cost_line = f"\n{cost}" if cost else ""
    if result.state == "failed":
        return (
            f"Generation {gid} failed ({result.failure_code}): {result.failure_reason}{cost_line}\n{result.next_step}"
        )
    if result.state != "completed":
        waited = f" after {result.waited_seconds:g} s" if result.waited_seconds is not None else ""
        return f"Generation {gid} is still {result.state}{waited}.{cost_line}\n{result.next_step}"
    lines = [f"Generation {gid} completed."]
    for output in result.outputs:
        if output.layer:
            label = f"Layer {output.index} ({output.layer.label}, alpha {output.layer.alpha_hint})"
        else:
            label = f"Image {output.index + 1}"
        if output.path:
            format_name = (output.media_type or "").removeprefix("image/").upper()
            link = f"; its link, until {output.link_expires_at}: {output.link}" if output.link else ""
            lines.append(
                f"{label}: {output.width}×{output.height} {format_name}, {readable_size(output.size_bytes or 0)}, "
                f"saved to {output.path}{link}"
            )
        elif emulated:  # a link nobody else can open: not one to offer
            lines.append(f"{label}: not saved" + (f" ({output.error})" if output.error else ""))
        elif not files_kept:  # nothing is saved here: the link is the image
            expiry = f" until {output.url_expires_at}" if output.url_expires_at else " for an hour"
            problem = f" ({output.error})" if output.error else ""
            lines.append(f"{label}: download it from {output.url} (it works{expiry}){problem}")
        else:
            lines.append(f"{label}: not saved ({output.error}); download it from {output.url}")
    if cost:
        lines.append(cost)
    lines += [f"Warning: {warning}" for warning in result.warnings]
    lines.append(result.next_step)
    return "\n".join(lines)


def set_summary(
    whole: GenerationResult,
    members: list[tuple[int, GenerationInfo, Report]],
    *,
    what: str,
    asked: int,
    emulated: bool = False,
) -> str:
    """Several generations: a line of totals, each member's summary under its place in what was
    asked, the step. `emulated`: as `summary`."""
    done = sum(1 for _, member, _ in members if member.state == "completed")
    cost = cost_words(whole, reused=whole.reused)
    made = f"{len(members)} {'made' if what == 'image' else 'found'}, " if len(members) < asked else ""
    lines = [f"{asked} {what}s asked: {made}{done} completed." + (f" {cost}" if cost else "")]
    for number, member, report in members:
        text = summary(
            member.model_copy(update={"next_step": ""}),
            report.reused_after,
            files_kept=report.files_kept,
            emulated=emulated,
        ).rstrip()
        lines.append(f"#{number} " + text.replace("\n", "\n   "))
    lines += [f"Warning: {warning}" for warning in whole.warnings]
    lines.append(whole.next_step)
    return "\n".join(lines)
