"""Usage and cost accounting (behaviour.md §6: "totals of tokens and cost per model, and
savings against using the lead for everything").

Prices from genai-prices change when providers change them, so expected dollar amounts are
computed from what the price table says (asked directly, as an independent oracle) or from
prices the test writes itself; only the formulas are asserted exactly.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import genai_prices
import pytest
from model_server import openai_reply

from goose_nb.config import resolve_settings
from goose_nb.display.usage import format_cost, usage_view
from goose_nb.errors import ConfigError
from goose_nb.events import Notice
from goose_nb.messages import ModelRef, Usage
from goose_nb.pricing import Price, PriceBook, load_user_prices, savings
from goose_nb.usage import UsageEntry, UsageLedger

GPT_4O = ModelRef(provider="openai", model="gpt-4o")
GPT_4O_MINI = ModelRef(provider="openai", model="gpt-4o-mini")
SONNET = ModelRef(provider="anthropic", model="claude-sonnet-4-5")
HAIKU = ModelRef(provider="anthropic", model="claude-haiku-4-5")
LLAMA = ModelRef(provider="ollama", model="llama3.2")

STEP = Usage(input_tokens=12_000, output_tokens=800)


def table_price(model: str, provider: str | None, usage: Usage) -> float:
    """The oracle: genai-prices asked directly, without goose_nb in between."""
    result = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        ),
        model_ref=model,
        provider_id=provider,
    )
    return float(result.total_price)


def write(tmp_path: Path, text: str, name: str = "prices.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# genai-prices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [GPT_4O_MINI, GPT_4O, SONNET, HAIKU],
                         ids=lambda ref: ref.model)
def test_known_models_are_priced_by_genai_prices(model):
    book = PriceBook()
    cost = book.cost(model, STEP)
    assert cost is not None and cost > 0
    assert cost == pytest.approx(table_price(model.model, model.provider, STEP), rel=1e-12)
    assert book.source(model) == "genai-prices"


def test_the_lead_costs_more_than_the_worker_it_is_paired_with():
    book = PriceBook()
    assert book.cost(GPT_4O, STEP) > book.cost(GPT_4O_MINI, STEP)
    assert book.cost(SONNET, STEP) > book.cost(HAIKU, STEP)


def test_dated_model_names_find_their_model():
    book = PriceBook()
    dated = ModelRef(provider="openai", model="gpt-4o-mini-2024-07-18")
    assert book.cost(dated, STEP) == pytest.approx(book.cost(GPT_4O_MINI, STEP), rel=1e-12)


def test_a_replayed_model_costs_what_the_real_one_costs():
    """A replayed gpt-4o-mini demo shows gpt-4o-mini's price (genai-prices guesses the
    provider from the model name)."""
    book = PriceBook()
    for model in (GPT_4O_MINI, SONNET):
        replayed = ModelRef(provider="replay", model=model.model)
        assert book.cost(replayed, STEP) == pytest.approx(book.cost(model, STEP), rel=1e-12)


@pytest.mark.parametrize("model", [
    ModelRef(provider="openai", model="no-such-model-xyz"),
    ModelRef(provider="replay", model="no-such-model-xyz"),
    # a model another provider sells is not priced under the wrong provider
    ModelRef(provider="anthropic", model="gpt-4o-mini"),
    # local models are free or user-priced, never priced from a cloud table
    LLAMA,
    ModelRef(provider="ollama", model="gpt-oss:20b"),
    ModelRef(provider="ollama", model="gpt-4o-mini"),
    # a provider genai-prices does not know
    ModelRef(provider="someday", model="gpt-4o-mini"),
], ids=str)
def test_unknown_models_have_no_price(model):
    book = PriceBook()
    assert book.cost(model, STEP) is None
    assert book.cost(model, STEP) is None  # the cached answer too
    assert book.source(model) is None


def test_inconsistent_counts_have_no_price_rather_than_an_exception():
    # cached tokens are part of input_tokens; more cached than input is a provider bug
    bad = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=500)
    assert PriceBook().cost(GPT_4O_MINI, bad) is None
    assert PriceBook({"gpt-4o-mini": Price(1, 1)}).cost(GPT_4O_MINI, bad) is None
    assert PriceBook().cost(GPT_4O_MINI, Usage(input_tokens=-1)) is None


def test_zero_tokens_cost_nothing():
    assert PriceBook().cost(GPT_4O_MINI, Usage()) == 0


# cache tokens ---------------------------------------------------------------------------------


def test_cache_reads_cost_less_than_the_same_tokens_uncached():
    book = PriceBook()
    plain = Usage(input_tokens=100_000, output_tokens=1_000)
    cached = Usage(input_tokens=100_000, output_tokens=1_000, cache_read_tokens=60_000)
    for model in (GPT_4O_MINI, SONNET):
        assert book.cost(model, cached) < book.cost(model, plain)
        assert book.cost(model, cached) == pytest.approx(
            table_price(model.model, model.provider, cached), rel=1e-12)


def test_anthropic_cache_writes_cost_more_than_plain_input():
    book = PriceBook()
    plain = Usage(input_tokens=100_000, output_tokens=1_000)
    written = Usage(input_tokens=100_000, output_tokens=1_000, cache_write_tokens=60_000)
    assert book.cost(SONNET, written) > book.cost(SONNET, plain)


def test_user_cache_rates_and_the_input_rate_when_none_is_given():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000,
                  cache_read_tokens=400_000, cache_write_tokens=100_000)
    with_rates = Price(input=2.0, output=8.0, cache_read=0.5, cache_write=2.5)
    # 500k uncached at 2, 400k read at 0.5, 100k written at 2.5, 1M out at 8
    assert with_rates.cost(usage) == pytest.approx(1.0 + 0.2 + 0.25 + 8.0)
    without = Price(input=2.0, output=8.0)
    assert without.cost(usage) == pytest.approx(2.0 + 8.0)


def test_each_step_is_priced_on_its_own_so_per_request_tiers_apply_per_request():
    """Anthropic bills every token of a request above 200k input tokens at a higher rate;
    two 150k-token steps are two requests below the tier, not one of 300k."""
    step = Usage(input_tokens=150_000, output_tokens=1_000)
    ledger = UsageLedger()
    ledger.add(SONNET, step, "lead")
    ledger.add(SONNET, step, "lead")
    book = PriceBook()
    summary = savings(ledger, SONNET, book)
    assert summary.total_cost == pytest.approx(2 * book.cost(SONNET, step), rel=1e-12)
    assert summary.total_cost < book.cost(SONNET, step + step)


# the user's prices ----------------------------------------------------------------------------


def test_user_prices_override_the_table_and_price_local_models(tmp_path):
    path = write(tmp_path, """
        # USD per million tokens
        openai/gpt-4o-mini: {input: 1.0, output: 2.0}
        gpt-4o-mini: {input: 100, output: 100}    # bare name: only when no exact key
        llama3.2: {input: 0, output: 0}
        qwen2.5-coder:7b:
          input: 0.05
          output: 0.1
        replay/gpt-4o: {input: 3, output: 4, cache_read: 1}
    """)
    prices = load_user_prices(path)
    assert prices["openai/gpt-4o-mini"] == Price(input=1.0, output=2.0)
    assert prices["qwen2.5-coder:7b"] == Price(input=0.05, output=0.1)
    book = PriceBook(prices)
    usage = Usage(input_tokens=2_000_000, output_tokens=500_000)
    assert book.cost(GPT_4O_MINI, usage) == pytest.approx(2.0 + 1.0)  # exact key wins
    assert book.source(GPT_4O_MINI) == "GOOSE_NB_PRICES"
    replayed_mini = ModelRef(provider="replay", model="gpt-4o-mini")
    assert book.cost(replayed_mini, usage) == pytest.approx(200 + 50)  # the bare key
    assert book.cost(LLAMA, usage) == 0
    qwen = ModelRef(provider="ollama", model="qwen2.5-coder:7b")
    assert book.cost(qwen, usage) == pytest.approx(0.1 + 0.05)
    # an exact key applies to that provider only: openai/gpt-4o still comes from the table
    assert book.cost(GPT_4O, usage) == pytest.approx(
        table_price("gpt-4o", "openai", usage), rel=1e-12)
    assert book.source(GPT_4O) == "genai-prices"


def test_the_setting_names_the_file_and_the_book_reads_it(tmp_path):
    path = write(tmp_path, "llama3.2: {input: 0.5, output: 1.5}\n")
    settings = resolve_settings(environ={"GOOSE_NB_PRICES": str(path)},
                                config_path=tmp_path / "none.yaml").settings
    assert settings.prices == str(path)
    book = PriceBook.from_settings(settings)
    assert book.cost(LLAMA, Usage(input_tokens=1_000_000, output_tokens=1_000_000)) == 2.0
    unset = resolve_settings(environ={}, config_path=tmp_path / "none.yaml").settings
    assert unset.prices is None
    assert PriceBook.from_settings(unset).cost(LLAMA, STEP) is None


def test_an_empty_price_file_is_no_prices(tmp_path):
    assert load_user_prices(write(tmp_path, "# nothing yet\n")) == {}


@pytest.mark.parametrize(("text", "line", "words"), [
    ("gpt-4o-mini: {input: 1, output: 2}\nllama3.2: {input: 1, output: [\n", 3, "fix the file"),
    ("a: {input: 1, output: 2}\nb: {input: 1\n", 3, ""),
    ("a: {input: 1, output: 2}\n\nllama3.2: {input: 0.5}\n", 3, "no output"),
    ("llama3.2: {input: -1, output: 2}\n", 1, "number >= 0"),
    ("a: {input: 1, output: 2}\nllama3.2: {input: cheap, output: 2}\n", 2, "number >= 0"),
    ("llama3.2: {input: 1, output: 2, cached: 1}\n", 1, "unknown field cached"),
    ("a: {input: 1, output: 2}\nllama3.2: 0.15\n", 2, "not a mapping"),
    ("llama3.2: {input: true, output: 2}\n", 1, "number >= 0"),
])
def test_a_bad_price_file_is_one_line_naming_the_file_the_line_and_the_fix(
    tmp_path, text, line, words
):
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_user_prices(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{path}, line {line}:" in message
    assert words in message
    assert "GOOSE_NB_PRICES" in message or "USD per million tokens" in message


def test_a_price_file_that_is_not_a_mapping_or_missing_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"prices\.yaml: expected a mapping"):
        load_user_prices(write(tmp_path, "- gpt-4o-mini\n- 0.15\n"))
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml does not exist; create it or unset"):
        load_user_prices(missing)


# savings --------------------------------------------------------------------------------------


def lead_worker_ledger() -> tuple[UsageLedger, list[UsageEntry]]:
    steps = [
        UsageEntry(GPT_4O, "lead", Usage(input_tokens=4_000, output_tokens=900)),
        UsageEntry(GPT_4O, "lead", Usage(input_tokens=9_000, output_tokens=300,
                                         cache_read_tokens=4_096)),
        UsageEntry(GPT_4O_MINI, "worker", Usage(input_tokens=15_000, output_tokens=700)),
        UsageEntry(GPT_4O_MINI, "worker", Usage(input_tokens=21_000, output_tokens=400,
                                                cache_read_tokens=12_288)),
        UsageEntry(GPT_4O, "lead", Usage(input_tokens=26_000, output_tokens=200)),  # fallback
        UsageEntry(GPT_4O_MINI, "worker", Usage(input_tokens=30_000, output_tokens=1_200)),
    ]
    ledger = UsageLedger()
    for step in steps:
        ledger.add(step.model, step.usage, step.role)
    return ledger, steps


def test_savings_against_running_every_step_on_the_lead():
    ledger, steps = lead_worker_ledger()
    book = PriceBook()
    summary = savings(ledger, GPT_4O, book)

    actual = sum(book.cost(s.model, s.usage) for s in steps)
    on_lead = sum(book.cost(GPT_4O, s.usage) for s in steps)
    assert summary.total_cost == pytest.approx(actual, rel=1e-12)
    assert summary.lead_only_cost == pytest.approx(on_lead, rel=1e-12)
    # the formula, exactly
    assert summary.saved == summary.lead_only_cost - summary.total_cost
    assert summary.saved_fraction == summary.saved / summary.lead_only_cost
    assert 0 < summary.saved_fraction < 1

    lead = [s for s in steps if s.role == "lead"]
    worker = [s for s in steps if s.role == "worker"]
    assert list(summary.roles) == ["lead", "worker"]
    assert summary.roles["lead"].cost == pytest.approx(
        sum(book.cost(GPT_4O, s.usage) for s in lead), rel=1e-12)
    assert summary.roles["worker"].cost == pytest.approx(
        sum(book.cost(GPT_4O_MINI, s.usage) for s in worker), rel=1e-12)
    assert summary.roles["worker"].usage.input_tokens == 66_000
    assert summary.roles["lead"].usage.output_tokens == 1_400
    assert summary.roles["lead"].usage.cache_read_tokens == 4_096

    rows = {row.model: row for row in summary.models}
    assert [row.model for row in summary.models] == [GPT_4O, GPT_4O_MINI]
    assert rows[GPT_4O].roles == ("lead",)
    assert rows[GPT_4O].cost == summary.roles["lead"].cost
    assert summary.usage == ledger.total()
    assert summary.unpriced == ()


def test_savings_with_the_books_own_prices_are_exact(tmp_path):
    """With user prices the whole calculation can be checked by hand."""
    book = PriceBook({"big": Price(input=10, output=30), "small": Price(input=1, output=3)})
    big = ModelRef(provider="openai", model="big")
    small = ModelRef(provider="openai", model="small")
    ledger = UsageLedger()
    ledger.add(big, Usage(input_tokens=100_000, output_tokens=10_000), "lead")  # 1.0 + 0.3
    ledger.add(small, Usage(input_tokens=400_000, output_tokens=50_000), "worker")  # 0.4 + 0.15
    summary = savings(ledger, big, book)
    assert summary.total_cost == pytest.approx(1.85)
    assert summary.lead_only_cost == pytest.approx(1.3 + 4.0 + 1.5)
    assert summary.saved == pytest.approx(6.8 - 1.85)
    assert summary.saved_fraction == pytest.approx((6.8 - 1.85) / 6.8)


def test_other_roles_are_counted_and_an_unpriced_model_makes_totals_unknown():
    ledger, _ = lead_worker_ledger()
    ledger.add(LLAMA, Usage(input_tokens=500, output_tokens=50), "subagent")
    summary = savings(ledger, GPT_4O)
    assert list(summary.roles) == ["lead", "worker", "subagent"]
    assert summary.roles["subagent"].cost is None
    assert summary.roles["worker"].cost is not None
    assert summary.total_cost is None
    assert summary.saved is None and summary.saved_fraction is None
    assert summary.lead_only_cost is not None  # every token has a price on the lead
    assert summary.unpriced == (LLAMA,)


def test_a_lead_without_a_price_leaves_the_savings_unknown():
    ledger, _ = lead_worker_ledger()
    summary = savings(ledger, LLAMA)
    assert summary.total_cost is not None
    assert summary.lead_only_cost is None and summary.saved is None
    assert LLAMA in summary.unpriced


def test_without_a_lead_there_are_no_savings():
    ledger = UsageLedger()
    ledger.add(GPT_4O_MINI, STEP)  # lead/worker off: no role
    summary = savings(ledger, None)
    assert summary.total_cost == pytest.approx(PriceBook().cost(GPT_4O_MINI, STEP))
    assert summary.lead_only_cost is None and summary.saved is None
    assert summary.roles == {}
    assert summary.models[0].roles == ()


def test_the_ledger_keeps_steps_and_model_role_pairs():
    ledger = UsageLedger()
    ledger.add(GPT_4O, STEP, "lead")
    ledger.add(GPT_4O, STEP, "worker")  # the same model in two roles
    ledger.add(GPT_4O, STEP)
    assert ledger.by_model()[GPT_4O] == STEP + STEP + STEP
    assert ledger.by_model_role() == {(GPT_4O, "lead"): STEP, (GPT_4O, "worker"): STEP,
                                      (GPT_4O, None): STEP}
    assert set(ledger.by_role()) == {"lead", "worker"}
    assert [e.role for e in ledger.entries()] == ["lead", "worker", None]
    # a step without a role (a pinned recipe run) is named "main" beside the roles
    assert savings(ledger, GPT_4O).models[0].roles == ("lead", "worker", "main")


# the view -------------------------------------------------------------------------------------


def test_format_cost():
    assert format_cost(None) == "—"
    assert format_cost(0.0123) == "$0.0123"
    assert format_cost(0.31) == "$0.3100"
    assert format_cost(1234.5) == "$1,234.5000"
    assert format_cost(0.0) == "$0.0000"
    assert format_cost(0.00002) == "<$0.0001"


def test_the_view_shows_models_roles_costs_and_the_savings_line():
    ledger, _ = lead_worker_ledger()
    book = PriceBook()
    summary = savings(ledger, GPT_4O, book)
    view = usage_view(ledger, show_cost=True, lead=GPT_4O, book=book)
    for text in (view.plain, view.markdown.replace("`", "")):
        assert "openai/gpt-4o-mini" in text and "worker" in text and "lead" in text
        assert "66,000" in text  # the worker's input tokens
        assert format_cost(summary.roles["worker"].cost) in text
        assert format_cost(summary.total_cost) in text
        assert (f"Lead/worker cost {format_cost(summary.total_cost)}; the same tokens on the "
                f"lead (gpt-4o) would have cost {format_cost(summary.lead_only_cost)}: "
                f"saved {format_cost(summary.saved)} ({summary.saved_fraction:.0%})") in text
    assert "| openai/gpt-4o-mini | worker |" in view.markdown
    # a summary renders the same as the ledger it came from
    assert usage_view(summary, show_cost=True, lead=GPT_4O).plain == view.plain


def test_every_dollar_amount_is_code_so_no_front_end_reads_maths():
    """Two "$" in one Markdown output are maths to MathJax (JupyterLab turns an escaped
    "\\$" back into "$" before MathJax sees it); inside code, MathJax leaves them alone."""
    view = usage_view(lead_worker_ledger()[0], show_cost=True, lead=GPT_4O)
    outside_code = re.sub(r"`[^`]*`", "", view.markdown)
    assert "$" in view.markdown and "$" not in outside_code
    assert re.search(r"`\$0\.\d{4}`", view.markdown)


def test_without_maths_keeps_existing_code_spans_and_wraps_every_other_dollar():
    from goose_nb.display.rich import without_maths

    assert without_maths("cost $1,234.50 or <$0.0001") == "cost `$1,234.50` or <`$0.0001`"
    assert without_maths("run `echo $HOME` for $") == "run `echo $HOME` for `$`"


def test_show_cost_off_hides_every_money_figure():
    ledger, _ = lead_worker_ledger()
    ledger.add(LLAMA, Usage(input_tokens=500, output_tokens=50), "subagent")
    view = usage_view(ledger, show_cost=False, lead=GPT_4O)
    for text in (view.plain, view.markdown):
        assert "$" not in text
        assert "cost" not in text and "saved" not in text and "GOOSE_NB_PRICES" not in text
        assert "66,000" in text and "openai/gpt-4o" in text


def test_no_lead_no_savings_line():
    ledger, _ = lead_worker_ledger()
    view = usage_view(ledger, show_cost=True, lead=None)
    for text in (view.plain, view.markdown):
        assert "$" in text
        assert "would have cost" not in text and "saved" not in text and "Lead/worker" not in text


def test_lead_worker_off_shows_no_role_column():
    ledger = UsageLedger()
    ledger.add(GPT_4O_MINI, STEP)
    view = usage_view(ledger, show_cost=True, lead=None)
    assert "role" not in view.plain and "Usage by role" not in view.plain
    assert "openai/gpt-4o-mini" in view.plain


def test_unknown_prices_show_a_dash_and_how_to_add_them():
    ledger, _ = lead_worker_ledger()
    ledger.add(LLAMA, Usage(input_tokens=500, output_tokens=50), "subagent")
    view = usage_view(ledger, show_cost=True, lead=GPT_4O)
    assert "—" in view.plain
    assert "No price known for ollama/llama3.2" in view.plain
    assert "GOOSE_NB_PRICES" in view.plain
    assert "savings unknown" in view.plain
    assert "saved" not in view.plain


def test_an_empty_ledger():
    view = usage_view(UsageLedger(), show_cost=True, lead=GPT_4O)
    assert view.plain == "No model calls yet."


# offline --------------------------------------------------------------------------------------


def test_pricing_makes_no_network_request():
    """genai-prices prices from the table bundled in the package: run a fresh interpreter
    in which any connection or DNS lookup raises, and price models from both providers."""
    code = textwrap.dedent("""
        import socket
        def refuse(*args, **kwargs):
            raise AssertionError("pricing tried the network")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from goose_nb.messages import ModelRef, Usage
        from goose_nb.pricing import PriceBook
        book = PriceBook()
        usage = Usage(input_tokens=1000, output_tokens=100)
        for provider, model in [("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5"),
                                ("replay", "gpt-4o-mini"), ("openai", "unknown-model")]:
            print(book.cost(ModelRef(provider=provider, model=model), usage))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert len(lines) == 4 and lines[3] == "None"
    assert all(float(value) > 0 for value in lines[:3])


def test_main_agent_steps_without_a_role_are_not_counted_as_subagents():
    from goose_nb.messages import ModelRef, Usage
    from goose_nb.pricing import savings
    from goose_nb.usage import UsageLedger

    ledger = UsageLedger()
    model = ModelRef(provider="openai", model="gpt-4o-mini")
    ledger.add(model, Usage(input_tokens=100, output_tokens=10))
    ledger.add(model, Usage(input_tokens=50, output_tokens=5), "subagent")
    summary = savings(ledger, None)
    assert summary.roles["main"].usage.input_tokens == 100
    assert summary.roles["subagent"].usage.input_tokens == 50
    assert summary.models[0].roles == ("main", "subagent")


def test_a_missing_prices_file_is_reported_once_and_the_turns_go_on(model_server, make_session,
                                                                    tmp_path):
    missing = tmp_path / "prices.yaml"
    session = make_session(model_server, GOOSE_MODEL="gpt-test", GOOSE_NB_PRICES=str(missing))
    events: list = []
    session.subscribe(events.append)
    model_server.queue(openai_reply("one"), openai_reply("two"))
    assert session.ask("first").status == "ok"
    assert session.ask("second").status == "ok"
    warnings = [e for e in events if isinstance(e, Notice) and e.level == "warning"]
    assert [w.text for w in warnings] == [
        f"costs are not shown: GOOSE_NB_PRICES: {missing} does not exist; create it or "
        "unset GOOSE_NB_PRICES"]
    # once the file exists, a reload prices the turns
    missing.write_text("openai/gpt-test: {input: 1.0, output: 2.0}\n")
    session.reload()
    model_server.queue(openai_reply("three"))
    record = session.ask("third")
    usage = record.steps[0].usage
    assert usage.output_tokens > 0
    assert session.turn_cost(record) == pytest.approx(
        (usage.input_tokens * 1.0 + usage.output_tokens * 2.0) / 1e6)
    assert len([e for e in events if isinstance(e, Notice) and e.level == "warning"]) == 1
