"""A generation from request to saved result.

- `runner`: submit, wait within a time budget while reporting progress, hand off what is not done;
- `ledger`: identical-request reuse and the lost-answer refusal (never charged twice);
- `saver`: what to save, where (falling back to a private temporary folder), and the history record;
- `downloads`: getting a generation's images within a call's time (retries, fresh links);
- `report`: the typed outcome every tool renders;
- `draining`: ending waits with a hand-off when the server shuts down;
- `locks`: one holder at a time per key.
"""
