"""Generations: create (validate, rate-limit, charge, queue), read back as the contract's
Generation object, and what they cost an account, refunds deducted."""

from __future__ import annotations

import math
import uuid
from typing import Any

import anyio.to_thread

from . import render
from .errors import ApiError
from .inputs import Inputs, inspect_inputs
from .outputs import plan_outputs
from .ratelimit import check_limits, success_headers
from .state import (
    BASE_PRICE,
    FAILURE_REASONS,
    LAYER_PRICE,
    PRICE_PER_REF,
    REFUNDED_FAILURES,
    Account,
    EmulatorState,
    Generation,
    Outcome,
)
from .storage import Storage
from .validation import parse_create_request
from .wire import iso


class Generations:
    """The generations of one emulator, as the `/v1/generations` paths see them."""

    def __init__(self, state: EmulatorState, inputs: Inputs, storage: Storage) -> None:
        self._state = state
        self._inputs = inputs
        self._storage = storage

    def spent_micro(self, owner: str) -> int:
        """What the key with fingerprint `owner` has been charged, refunds deducted."""
        now = self._state.clock.now()
        return sum(
            g.price_micro
            for g in self._state.generations.values()
            if g.owner == owner and not (g.state(now) == "failed" and g.failure_code in REFUNDED_FAILURES)
        )

    async def create(self, account: Account, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate, check limits and balance, queue: the 201 body and its `X-RateLimit-*` headers."""
        request = parse_create_request(body)
        inputs = await self._inputs.resolve(account, request)
        sizes, input_failure = await anyio.to_thread.run_sync(inspect_inputs, [i.data for i in inputs])

        now = self._state.clock.now()
        config = self._state.config
        units = config.weights.get(f"{request.model}/{request.type}", 1)
        unfinished = sum(
            g.units for g in self._state.generations.values() if g.owner == account.fingerprint and g.unfinished(now)
        )
        check_limits(
            account.window,
            unfinished,
            now=now,
            units=units,
            rpm=config.rpm,
            concurrency=config.concurrency,
            weighted=bool(config.weights),
        )
        outcomes = self._state.outcomes
        outcome = outcomes[0] if outcomes else Outcome()
        layers = outcome.layers or config.layers
        if request.type == "layering":
            price = LAYER_PRICE[request.layer_resolution] * layers
        else:
            price = BASE_PRICE[(request.model, request.type)] + PRICE_PER_REF * len(request.image_refs)
        if account.credits_micro is not None and account.credits_micro - self.spent_micro(account.fingerprint) < price:
            raise ApiError(402, "Insufficient credits. Please add credits to continue.")
        if outcomes:
            outcomes.popleft()  # the script is for a job queued, not one refused
        failure_code, failure_reason = outcome.failure_code, outcome.failure_reason
        failure_code = failure_code or input_failure
        latency = config.latency if outcome.latency is None else outcome.latency
        latency += config.web_search_extra if request.web_search else 0.0
        size, output_format, names = plan_outputs(request, inputs, sizes, long_edge=config.long_edge, layers=layers)
        generation = Generation(
            id=str(uuid.uuid4()),
            owner=account.fingerprint,
            request=request,
            created_at=now,
            started_at=now + (latency if math.isfinite(latency) else config.latency) * config.queued_share,
            finished_at=now + latency,
            output_format=output_format,
            size=size,
            output_names=names,
            units=units,
            price_micro=price,
            inputs=tuple(inputs),
            failure_code=failure_code,
            failure_reason=(failure_reason or FAILURE_REASONS[failure_code]) if failure_code else None,
        )
        self._state.generations[generation.id] = generation
        account.window.entries.append((now, units))
        await self._state.keep_generation(generation)  # for a later process, as the API keeps jobs
        # The 201 always shows the job just queued, even one that will be done at once.
        created: dict[str, Any] = {**self.to_json(generation), "state": "queued", "output": []}
        return created, success_headers(account.window, now=now, rpm=config.rpm)

    async def get(self, account: Account, generation_id: str) -> dict[str, Any]:
        """`GET /v1/generations/{id}`: the account's own generations only (an earlier process's too)."""
        generation = await self._state.generation(generation_id)
        if generation is None or generation.owner != account.fingerprint:
            raise ApiError(404, "Generation not found")
        return self.to_json(generation)

    def to_json(self, generation: Generation) -> dict[str, Any]:
        """The Generation object, with output URLs minted now when it is completed."""
        now = self._state.clock.now()
        state = generation.state(now)
        output: list[dict[str, Any]] = []
        if state == "completed":
            for index, name in enumerate(generation.output_names):
                url = self._storage.presigned_url(f"/generations/{generation.id}/{name}", method="GET", now=now)
                item: dict[str, Any] = {"type": "image", "url": url}
                if generation.request.type == "layering":
                    label, description, alpha_hint = render.layer_plan(len(generation.output_names))[index]
                    item["layer"] = {
                        **self._state.config.layer_extra,
                        "index": index,
                        "label": label,
                        "description": description,
                        "alpha_hint": alpha_hint,
                    }
                output.append(item)
        return {
            "id": generation.id,
            "type": generation.request.type,
            "state": state,
            "model": generation.request.model,
            "created_at": iso(generation.created_at),
            "output": output,
            "failure_reason": generation.failure_reason if state == "failed" else None,
            "failure_code": generation.failure_code if state == "failed" else None,
        }
