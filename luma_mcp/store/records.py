"""The records of what this server made: one `HistoryEntry` per generation, with the inputs it was
given (named, never their bytes) and the files it saved (`SavedFile`, the one record of a saved
output)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ..media.outputs import SavedFile


class InputRecord(BaseModel):
    """An image input, as far as it can be named (never its bytes)."""

    model_config = ConfigDict(defer_build=True)

    field: str = Field(description="Where it was given: source or image_ref[i].")
    kind: str = Field(description="url, data, generation_id or file_id.")
    value: str | None = Field(default=None, description="The URL, generation_id or file_id; None for inline data.")
    media_type: str | None = Field(default=None, description="The media type of inline data.")


class HistoryEntry(BaseModel):
    """One generation this server submitted or fetched."""

    model_config = ConfigDict(defer_build=True)

    generation_id: str = Field(description="Id to look up, wait on, or edit from (source: {generation_id}).")
    prompt: str | None = Field(default=None, description="The prompt, when this server submitted it.")
    model: str = Field(default="", description="The model that made it.")
    type: str = Field(default="image", description="image, image_edit or layering.")
    aspect_ratio: str | None = Field(default=None, description="The ratio asked for; None if the model chose.")
    style: str | None = Field(default=None, description="auto or manga.")
    output_format: str | None = Field(default=None, description="The format asked for; None if the model chose.")
    resolution: str | None = Field(default=None, description="For layering: 1k or 2k.")
    created_at: str = Field(default="", description="When the API created the job (UTC, ISO 8601).")
    recorded_at: str = Field(default="", description="When this entry was last written (UTC, ISO 8601).")
    state: str = Field(default="queued", description="The last state seen: queued, processing, completed or failed.")
    failure_code: str | None = Field(default=None, description="Why it failed, as the API's code.")
    inputs: list[InputRecord] = Field(default_factory=list[InputRecord], description="The images it was given.")
    files: list[SavedFile] = Field(default_factory=list[SavedFile], description="The saved images.")

    def created_seconds(self) -> float:
        """When the job was created, in seconds since the epoch: what the history is ordered by
        (when this entry was recorded, for one that does not say; 0 for neither)."""
        for stamp in (self.created_at, self.recorded_at):
            try:
                return datetime.fromisoformat(stamp).timestamp()
            except ValueError:
                continue
        return 0.0
