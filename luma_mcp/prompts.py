"""MCP prompts: short templates a user picks by name (slash commands in Claude Desktop, Claude Code
and VS Code), each leading the model through this server's tools for a task worth a template: a
product shot from a photo, a storyboard of several frames, another round on the latest image.

The same templates go into the `.mcpb` bundle's manifest (`bundle/build.py`), with the manifest's
`${arguments.name}` placeholders, so the two always say the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING, Any, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument, UserMessage
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

if TYPE_CHECKING:
    from mcp.server import MCPServer


@dataclass(frozen=True)
class Argument:
    """One argument of a prompt (MCP prompt arguments are strings)."""

    name: str
    description: str
    default: str | None = None
    """Used when the argument is left out or blank; None makes it required."""
    whole_number: tuple[int, int] | None = None
    """For a count: the least and the most it may be."""

    def value(self, prompt: str, given: str | None) -> str:
        """The value to write into the prompt, or an error naming the argument and the fix."""
        value = (given or "").strip() or self.default
        if value is None:
            raise MCPError(INVALID_PARAMS, f"{prompt}: {self.name} is required ({self.description})")
        if self.whole_number is not None:
            low, high = self.whole_number
            if not value.isdigit() or not low <= int(value) <= high:
                raise MCPError(
                    INVALID_PARAMS, f"{prompt}: {self.name} must be a whole number from {low} to {high} (got {value!r})"
                )
        return value


@dataclass(frozen=True)
class Recipe:
    """A prompt: its text with `${argument}` placeholders, and what it takes."""

    name: str
    title: str
    description: str
    arguments: tuple[Argument, ...]
    text: str

    def render(self, given: Mapping[str, str | None]) -> str:
        """The prompt's text for the arguments given."""
        known = {argument.name for argument in self.arguments}
        unknown = sorted(set(given) - known)
        if unknown:
            raise MCPError(INVALID_PARAMS, f"{self.name} takes {', '.join(sorted(known))}; not {', '.join(unknown)}")
        values = {argument.name: argument.value(self.name, given.get(argument.name)) for argument in self.arguments}
        return Template(self.text).substitute(values)

    def manifest_text(self) -> str:
        """The text as an MCPB manifest writes it: `${arguments.name}` for each argument."""
        return Template(self.text).substitute({a.name: f"${{arguments.{a.name}}}" for a in self.arguments})

    def prompt(self) -> RecipePrompt:
        """This recipe as the SDK's prompt."""
        arguments = [
            PromptArgument(
                name=argument.name,
                description=argument.description
                + ("" if argument.default is None else f" (default: {argument.default})"),
                required=argument.default is None,
            )
            for argument in self.arguments
        ]
        return RecipePrompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=arguments,
            fn=self.render,
            context_kwarg=None,
        )


class RecipePrompt(Prompt):
    """A recipe as the SDK's prompt, checking its own arguments: the SDK's check of a missing one
    ends in an internal error, where the caller should read which argument to give."""

    async def render(self, arguments: dict[str, Any] | None, context: Context[Any, Any]) -> list[Message]:
        return [UserMessage(cast("str", self.fn(arguments or {})))]  # `fn` is the recipe's own `render`


RECIPES = (
    Recipe(
        name="product_shot",
        title="Product shot from a photo",
        description="Turn a photo of a product into a clean product shot, keeping the product exactly as it is.",
        arguments=(
            Argument("photo", "The product photo: an absolute path or one from ~ (~/Pictures/mug.jpg), or a URL"),
            Argument(
                "setting",
                "Where to show it, e.g. on white marble in soft morning light",
                default="on a seamless white background in soft studio light",
            ),
        ),
        text="""Make a product shot from my photo: ${photo}

1. Call edit_image with source {"path": "${photo}"} (or {"url": "${photo}"} if it is a web address) and the \
prompt: "A professional product photograph of this exact product, ${setting}. Keep the product itself \
unchanged: its shape, colours, label and text. Sharp focus, realistic shadows." Use output_format png.
2. Show me the result and where it was saved.
3. If the product changed, edit again from my original photo (not from the result), saying what must stay the same.""",
    ),
    Recipe(
        name="storyboard",
        title="Storyboard of N frames",
        description="Plan a short story as shots, then draw them as frames that keep the same characters and look.",
        arguments=(
            Argument("story", "What happens, in a sentence or two"),
            Argument("frames", "How many frames", default="4", whole_number=(2, 8)),
            Argument(
                "look",
                "The look of every frame, e.g. ink and watercolour",
                default="a clean illustrated storyboard, the same characters, palette and lighting in every frame",
            ),
        ),
        text="""Make a storyboard of ${frames} frames for this story: ${story}

1. Write ${frames} one-line shots (who, doing what, where, which camera angle), and one line for the look of \
every frame: ${look}.
2. Frame 1: call generate_image with the look and shot 1, aspect_ratio 16:9.
3. Frames 2 to ${frames}: call generate_image with the look and that frame's shot, aspect_ratio 16:9, and \
image_ref [{"generation_id": "<frame 1's generation_id>"}], so the characters and style stay the same. If a call \
returns before its image is ready, call wait_for_generation with its generation_id.
4. Show me the frames in order, each with its shot line and saved file.""",
    ),
    Recipe(
        name="iterate_on_last_image",
        title="Change the latest image",
        description="Edit the image made last (or one found by its words), and keep each round building on the last.",
        arguments=(Argument("change", "What to change, e.g. make it night and add falling snow"),),
        text="""Change my latest image: ${change}

1. Call list_generations with limit 1 to find it (if I named an earlier image, call it with query set to its \
words instead).
2. Call edit_image with source {"generation_id": "<its generation_id>"} and the prompt "${change}".
3. Show me the result. For another round, edit the new result's generation_id, so each change builds on the last.""",
    ),
)


def register_prompts(server: MCPServer[Any]) -> None:
    """Add the prompts to `server`."""
    for recipe in RECIPES:
        server.add_prompt(recipe.prompt())
