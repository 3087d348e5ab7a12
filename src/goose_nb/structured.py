"""Answers that must be JSON matching a schema (a recipe's ``response.json_schema``).

The model is told the schema up front; a final answer that is not such JSON gets one more
chance with the exact problem named, and a second miss fails the run with that problem.
"""

from __future__ import annotations

import json
import re
from typing import Any

from goose_nb.errors import GooseError

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def parse_json_answer(text: str) -> Any:
    """The JSON value of an answer, allowing for a fenced block around it."""
    match = _FENCE.match(text)
    return json.loads(match.group(1) if match else text)


class SchemaCheck:
    """Checks final answers against ``schema``; ``value`` holds the accepted one."""

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise GooseError(f"the response schema is not a valid JSON schema: {exc.message}"
                             ) from None
        self.schema = schema
        self.value: Any = None
        self._asked_again = False

    def instructions(self) -> str:
        return ("Your final answer must be only a JSON value matching this JSON schema, with "
                f"no other text:\n{json.dumps(self.schema, indent=2)}")

    def check(self, text: str) -> str | None:
        """None when ``text`` is a matching answer; otherwise the prompt that asks again.
        A second miss raises ``GooseError`` naming what is wrong."""
        import jsonschema

        try:
            value = parse_json_answer(text)
            jsonschema.validate(value, self.schema)
        except ValueError as exc:
            problem = f"it is not JSON ({exc})"
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the answer"
            problem = f"{where}: {exc.message}"
        else:
            self.value = value
            return None
        if self._asked_again:
            raise GooseError(f"the final answer does not match the response schema: {problem}")
        self._asked_again = True
        return (f"That answer does not match the required JSON schema: {problem}. "
                f"{self.instructions()}")
