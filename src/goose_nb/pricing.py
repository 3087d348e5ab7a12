"""What the tokens cost, in US dollars, and what lead/worker saved.

Prices come from two places, first match wins:

1. the user's YAML file named by ``GOOSE_NB_PRICES``, for models no public table knows
   (local Ollama models, private deployments) and for negotiated prices;
2. `genai-prices <https://github.com/pydantic/genai-prices>`_, the pydantic team's price
   table. Its data ships inside the package and ``calc_price`` reads only that; its
   auto-update (``UpdatePrices``) is never started here, so pricing makes no request.

A model neither source knows has no price: its cost is ``None`` (shown as "—"), never a
guess and never an exception. Costs are computed step by step and added up, because
prices are per request (see ``goose_nb.usage``).

How goose_nb's providers map to genai-prices:

- ``openai`` and ``anthropic`` (and any provider added later) are looked up under their
  own name, so a model that provider does not sell has no price, even when another provider
  sells one with the same name. An OpenAI-compatible server behind ``OPENAI_HOST`` serving a
  local model therefore shows "—" unless the user prices it.
- ``ollama`` runs models on the user's machine: no table price applies, only user prices.
- ``replay`` plays back a cassette, which names the model but not who served it: genai-prices
  guesses the provider from the model name (``gpt-4o-mini`` → OpenAI, ``claude-…`` →
  Anthropic), so a replayed demo shows what its calls cost live. The replay itself is free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from goose_nb.errors import ConfigError
from goose_nb.messages import ModelRef, Usage
from goose_nb.usage import UsageEntry, UsageLedger

if TYPE_CHECKING:
    from goose_nb.config import Settings

__all__ = [
    "CostSummary",
    "ModelCost",
    "Price",
    "PriceBook",
    "RoleCost",
    "load_user_prices",
    "savings",
]

#: providers whose models run locally: priced only by the user's file
LOCAL_PROVIDERS = frozenset({"ollama"})
#: providers that do not say who served the model: genai-prices guesses from the model name
GUESSED_PROVIDERS = frozenset({"replay"})

_PRICE_FIELDS = ("input", "output", "cache_read", "cache_write")
_EXAMPLE = "{input: 0.15, output: 0.6}"
_PER = 1_000_000


@dataclass(frozen=True)
class Price:
    """A user-supplied price in USD per million tokens.

    Cache rates are optional; without one, those tokens are billed at the input rate,
    which overstates rather than understates the cost of a model whose cache discount
    the user did not write down.
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage``, whose ``input_tokens`` include the cached ones."""
        cached = usage.cache_read_tokens + usage.cache_write_tokens
        read_rate = self.input if self.cache_read is None else self.cache_read
        write_rate = self.input if self.cache_write is None else self.cache_write
        dollars = (
            (usage.input_tokens - cached) * self.input
            + usage.cache_read_tokens * read_rate
            + usage.cache_write_tokens * write_rate
            + usage.output_tokens * self.output
        )
        return dollars / _PER


# the user's price file ---------------------------------------------------------------------


def load_user_prices(path: str | Path) -> dict[str, Price]:
    """Read the ``GOOSE_NB_PRICES`` file: ``"provider/model"`` or bare ``model`` keys, values
    like ``{input: 0.15, output: 0.6}`` in USD per million tokens, optional ``cache_read``
    and ``cache_write``.

    Every problem is a one-line ``ConfigError`` naming the file, the line when it is known
    and the fix: the user named this file on purpose, so a missing one is an error too.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"GOOSE_NB_PRICES: {path} does not exist; create it or unset GOOSE_NB_PRICES"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"GOOSE_NB_PRICES: {path} is not UTF-8 text (byte {exc.start}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"GOOSE_NB_PRICES: cannot read {path}: {exc.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{where}: {problem}; fix the file or unset GOOSE_NB_PRICES") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{path}: expected a mapping of \"provider/model\": {_EXAMPLE} "
            "(USD per million tokens)"
        )
    # the line of each key, for errors about its value (the data itself carries no marks)
    lines = {
        str(key.value): key.start_mark.line + 1
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode)
    }
    prices: dict[str, Price] = {}
    for raw_key, value in data.items():
        name = "" if raw_key is None else str(raw_key).strip()
        where = f"{path}, line {lines[str(raw_key)]}" if str(raw_key) in lines else str(path)
        if not name:
            raise ConfigError(f"{where}: a price needs a \"provider/model\" or model name")
        prices[name] = _parse_price(name, value, where)
    return prices


def _parse_price(name: str, value: Any, where: str) -> Price:
    fix = f"write e.g. {name}: {_EXAMPLE} (USD per million tokens)"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: the price of {name} is not a mapping; {fix}")
    unknown = sorted(str(key) for key in value if key not in _PRICE_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {', '.join(unknown)} in the price of {name}; "
            f"use {', '.join(_PRICE_FIELDS)} (USD per million tokens)"
        )
    missing = [key for key in ("input", "output") if value.get(key) is None]
    if missing:
        raise ConfigError(f"{where}: the price of {name} has no {' or '.join(missing)}; {fix}")
    numbers: dict[str, float | None] = {}
    for key in _PRICE_FIELDS:
        number = value.get(key)
        if number is not None and (
            isinstance(number, bool)
            or not isinstance(number, (int, float))
            or not math.isfinite(number)
            or number < 0
        ):
            raise ConfigError(
                f"{where}: {name} {key}={number!r} is not a price; use a number >= 0 "
                "(USD per million tokens)"
            )
        numbers[key] = None if number is None else float(number)
    return Price(
        input=float(value["input"]),
        output=float(value["output"]),
        cache_read=numbers["cache_read"],
        cache_write=numbers["cache_write"],
    )


# the price book -----------------------------------------------------------------------------

_Pricer = Callable[[Usage], float]


class PriceBook:
    """Prices models: the user's prices first (exact ``provider/model``, then bare model),
    then genai-prices. Which price applies is decided once per model and cached; the cost
    itself is computed for each usage, since tiered prices depend on the request's size."""

    def __init__(self, user_prices: Mapping[str, Price] | None = None) -> None:
        # its bundled table takes ~0.3 s to load: the session builds the book on the main
        # thread before a turn, so that load never stalls the turns' event loop
        import genai_prices  # noqa: F401

        self._user = dict(user_prices or {})
        self._pricers: dict[ModelRef, tuple[_Pricer, str] | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> PriceBook:
        """The book for a session: its ``GOOSE_NB_PRICES`` file, if any, over genai-prices."""
        return cls(load_user_prices(settings.prices) if settings.prices else None)

    def cost(self, model: ModelRef, usage: Usage) -> float | None:
        """USD for ``usage`` on ``model``; None when no price is known or the counts are
        inconsistent (cached tokens above the input tokens), rather than a wrong figure."""
        if usage.unreported or min(usage.input_tokens, usage.output_tokens,
                                   usage.cache_read_tokens, usage.cache_write_tokens) < 0:
            return None
        if usage.cache_read_tokens + usage.cache_write_tokens > usage.input_tokens:
            return None
        found = self._pricer(model)
        if found is None:
            return None
        try:
            return found[0](usage)
        except (LookupError, ValueError, ArithmeticError):
            return None

    def source(self, model: ModelRef) -> str | None:
        """Where ``model``'s price comes from: ``"GOOSE_NB_PRICES"``, ``"genai-prices"``,
        or None when it has none."""
        found = self._pricer(model)
        return None if found is None else found[1]

    def _pricer(self, model: ModelRef) -> tuple[_Pricer, str] | None:
        if model not in self._pricers:
            user = self._user.get(str(model)) or self._user.get(model.model)
            if user is not None:
                self._pricers[model] = (user.cost, "GOOSE_NB_PRICES")
            else:
                table = _genai_pricer(model)
                self._pricers[model] = None if table is None else (table, "genai-prices")
        return self._pricers[model]


def _genai_pricer(model: ModelRef) -> _Pricer | None:
    """Find ``model`` in genai-prices once; the returned function prices a usage with the
    model and provider found, skipping the lookup on every later step."""
    if model.provider in LOCAL_PROVIDERS:
        return None
    # imported here: its bundled table takes ~0.2 s to load, which %load_ext must not pay
    import genai_prices

    provider_id = None if model.provider in GUESSED_PROVIDERS else model.provider
    try:
        found = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=0, output_tokens=0),
            model_ref=model.model,
            provider_id=provider_id,
        )
    except (LookupError, ValueError):
        return None
    info, provider = found.model, found.provider

    def price(usage: Usage) -> float:
        calculation = info.calc_price(
            genai_prices.Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
            ),
            provider,
        )
        return float(calculation.total_price)

    return price


# summaries and savings ---------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCost:
    """One model's tokens and cost, and the roles it served (empty with lead/worker off)."""

    model: ModelRef
    roles: tuple[str, ...]
    usage: Usage
    cost: float | None


@dataclass(frozen=True)
class RoleCost:
    """The tokens and cost of one role (``lead``, ``worker``, ``subagent``...)."""

    role: str
    usage: Usage
    cost: float | None


@dataclass(frozen=True)
class CostSummary:
    """What a session's tokens cost, and what the same tokens would have cost on the lead.

    ``total_cost`` is None as soon as one model has no price (a partial sum would read as
    the whole bill). ``saved = lead_only_cost - total_cost`` and
    ``saved_fraction = saved / lead_only_cost``; both are None without a lead, without a
    price for every model involved, or (the fraction) when nothing was spent on the lead.
    ``unpriced`` lists the models used, and the lead, that no price source knows, so a view
    can say what to add to the user's price file.
    """

    models: tuple[ModelCost, ...]
    roles: Mapping[str, RoleCost]
    usage: Usage
    total_cost: float | None
    lead: ModelRef | None = None
    lead_only_cost: float | None = None
    saved: float | None = None
    saved_fraction: float | None = None
    unpriced: tuple[ModelRef, ...] = field(default=())
    #: the models whose server did not report the usage of some calls
    unreported: tuple[ModelRef, ...] = field(default=())


@dataclass
class _Sum:
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0
    roles: list[str] = field(default_factory=list)

    def add(self, usage: Usage, cost: float | None) -> None:
        self.usage = self.usage + usage
        self.cost = None if cost is None or self.cost is None else self.cost + cost


def savings(
    rows: UsageLedger | Iterable[UsageEntry],
    lead: ModelRef | None,
    book: PriceBook | None = None,
) -> CostSummary:
    """Price every step of ``rows`` (a ledger, or its entries) and compare with pricing all
    of them at ``lead``'s rates. ``lead`` None (lead/worker off) leaves the savings None.
    Without ``book``, genai-prices alone prices the steps."""
    book = book or PriceBook()
    entries = rows.entries() if isinstance(rows, UsageLedger) else tuple(rows)
    models: dict[ModelRef, _Sum] = {}
    roles: dict[str, _Sum] = {}
    total = _Sum()
    lead_only: _Sum | None = _Sum() if lead is not None else None
    # with lead/worker off the main agent's steps have no role; beside subagent or planner
    # steps they still need a name of their own, or they would be counted as those
    unnamed = "main" if any(entry.role for entry in entries) else None
    for entry in entries:
        cost = book.cost(entry.model, entry.usage)
        model_sum = models.setdefault(entry.model, _Sum())
        model_sum.add(entry.usage, cost)
        role = entry.role or unnamed
        if role is not None:
            roles.setdefault(role, _Sum()).add(entry.usage, cost)
            if role not in model_sum.roles:
                model_sum.roles.append(role)
        total.add(entry.usage, cost)
        if lead_only is not None and lead is not None:
            lead_only.add(entry.usage, book.cost(lead, entry.usage))
    lead_only_cost = lead_only.cost if lead_only is not None else None
    saved = saved_fraction = None
    if lead_only_cost is not None and total.cost is not None:
        saved = lead_only_cost - total.cost
        saved_fraction = saved / lead_only_cost if lead_only_cost > 0 else None
    return CostSummary(
        models=tuple(ModelCost(ref, tuple(s.roles), s.usage, s.cost) for ref, s in models.items()),
        roles={name: RoleCost(name, s.usage, s.cost) for name, s in _role_order(roles)},
        usage=total.usage,
        total_cost=total.cost,
        lead=lead,
        lead_only_cost=lead_only_cost,
        saved=saved,
        saved_fraction=saved_fraction,
        unpriced=tuple(ref for ref in (*models, *([lead] if lead and lead not in models else []))
                       if book.source(ref) is None),
        unreported=tuple(ref for ref, s in models.items() if s.usage.unreported),
    )


def _role_order(roles: dict[str, _Sum]) -> list[tuple[str, _Sum]]:
    """Lead, then worker, then any other role (subagents...) in the order first seen."""
    known = ("lead", "worker")
    return [(r, roles[r]) for r in known if r in roles] + [
        (r, s) for r, s in roles.items() if r not in known
    ]
