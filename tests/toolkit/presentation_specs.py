"""Tool specs and calls shared by the presentation tests."""

from __future__ import annotations

from toolkit.specs import ToolCall, ToolSpec

WEATHER = ToolSpec(
    name="get-weather",
    description="Get the current weather in a city.",
    input_schema={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris."},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "Temperature unit.",
            },
            "days": {"type": "integer", "minimum": 1, "maximum": 7, "description": "Forecast length."},
            "near": {
                "type": "object",
                "description": "A point to refine the city.",
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                "required": ["lat", "lon"],
            },
            "note": {"type": ["string", "null"]},
        },
        "required": ["city"],
    },
)
READ = ToolSpec(
    name="files.read",
    description="Read a file.",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
SPECS = [WEATHER, READ]
PARIS = ToolCall(name="get-weather", arguments={"city": "Paris", "unit": "celsius"})
ROME = ToolCall(name="get-weather", arguments={"city": "Rome", "near": {"lat": 41.9, "lon": 12.5}})
READ_CALL = ToolCall(name="files.read", arguments={"path": "notes/today.md"})
