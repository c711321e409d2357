"""Statements per party: what a party received and paid, as CSV and a readable HTML page.

A statement is built from the ledger's lines for one party, optional contract and a range
of periods; :func:`reconciles` checks its totals against the ledger's own SQL sums, so a
provider can check that the statement and the ledger agree to the penny. Each row keeps
its provenance (line id, contract version hash, inputs) so a payment can be traced back to
the indicator values and events that earned it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from jinja2 import Environment, select_autoescape

from commissioning.core.csvsafe import SafeWriter
from commissioning.settlement.ledger import Ledger, LedgerCheck
from commissioning.settlement.lines import (
    LAST_PERIOD_INDEX,
    PERIODS_PER_YEAR,
    SettlementLine,
    period_label,
)
from commissioning.settlement.money import format_gbp, to_gbp


@dataclass(frozen=True)
class StatementRow:
    """A ledger line seen from one party: ``signed_pence`` > 0 received, < 0 paid."""

    line: SettlementLine
    counterparty: str
    signed_pence: int


@dataclass(frozen=True)
class Statement:
    """A party's statement over periods ``from_period``..``to_period`` (ordinals, inclusive)."""

    party: str
    contract_id: str | None
    from_period: int
    to_period: int
    rows: list[StatementRow]
    received_pence: int
    paid_pence: int
    verification: LedgerCheck | None = None
    held_pence: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def net_pence(self) -> int:
        """Received minus paid."""
        return self.received_pence - self.paid_pence

    @property
    def total_held_pence(self) -> int:
        """Pence of this statement's lines held by open disputes."""
        return sum(self.held_pence.get(r.line.line_id, 0) for r in self.rows)


def _label(index: int) -> str:
    return period_label((index - 1) // PERIODS_PER_YEAR + 1, (index - 1) % PERIODS_PER_YEAR + 1)


def build_statement(
    ledger: Ledger,
    party: str,
    contract_id: str | None = None,
    from_period: int = 1,
    to_period: int = LAST_PERIOD_INDEX,
) -> Statement:
    """The statement of ``party`` from the ledger's lines, with the ledger's verification
    (every hash, MAC and the anchor checked) so a reader sees whether it can be trusted.
    Reads only."""
    rows = []
    received = paid = 0
    for line in ledger.lines(party, contract_id, from_period, to_period):
        if line.payee == party:
            rows.append(StatementRow(line, line.payer, line.amount_pence))
            received += line.amount_pence
        else:
            rows.append(StatementRow(line, line.payee, -line.amount_pence))
            paid += line.amount_pence
    return Statement(
        party, contract_id, from_period, to_period, rows, received, paid, ledger.verify()
    )


def reconciles(statement: Statement, ledger: Ledger) -> bool:
    """True when the statement's totals equal the ledger's sums for the same selection."""
    received, paid = ledger.totals(
        statement.party, statement.contract_id, statement.from_period, statement.to_period
    )
    return (received, paid) == (statement.received_pence, statement.paid_pence)


_CSV_HEADER = [
    "period",
    "line_id",
    "contract_id",
    "contract_hash",
    "kind",
    "key",
    "counterparty",
    "description",
    "amount_gbp",
    "held_gbp",
    "corrects",
    "inputs",
]


def statement_csv(statement: Statement) -> str:
    """The statement as CSV text: one row per line, pounds signed from the party's view,
    then a total row."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(_CSV_HEADER)
    for row in statement.rows:
        ln = row.line
        writer.writerow(
            [
                ln.period,
                ln.line_id,
                ln.contract_id,
                ln.contract_hash,
                ln.kind,
                ln.key,
                row.counterparty,
                ln.description,
                str(to_gbp(row.signed_pence)),
                str(to_gbp(statement.held_pence.get(ln.line_id, 0))),
                ln.corrects or "",
                "; ".join(f"{k}={v}" for k, v in ln.inputs),
            ]
        )
    writer.writerow(
        [
            "total",
            "",
            "",
            "",
            "",
            "",
            "",
            "net",
            str(to_gbp(statement.net_pence)),
            str(to_gbp(statement.total_held_pence)),
            "",
            "",
        ]
    )
    if statement.verification is not None:
        v = statement.verification
        writer.writerow(
            ["ledger", "", "", v.head, "", "", "", v.summary(), str(v.entries), "", "", ""]
        )
    return buffer.getvalue()


_TEMPLATE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Statement for {{ s.party }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #212b32; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #d8dde0; padding: 0.35rem 0.5rem; text-align: left;
  vertical-align: top; }
td.money, th.money { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; border-top: 2px solid #212b32; }
details { font-size: 0.8rem; color: #4c6272; }
code { font-size: 0.8rem; }
p.ok { color: #007f3b; } p.bad { color: #d5281b; font-weight: bold; }
</style>
</head>
<body>
<h1>Statement for {{ s.party }}</h1>
<p>Contract: {{ s.contract_id or "all contracts" }} &middot; periods {{ first }} to {{ last }}
&middot; {{ s.rows|length }} lines</p>
{% for n in s.notes %}<p>{{ n }}</p>{% endfor %}
{% if s.verification %}<p class="{{ 'ok' if s.verification.ok else 'bad' }}">
{{ s.verification.summary() }}. Ledger head <code>{{ s.verification.head }}</code>
({{ s.verification.entries }} entries).
{% for p in s.verification.problems %}<br>{{ p }}{% endfor %}</p>{% endif %}
<table>
<thead><tr><th>Period</th><th>Kind</th><th>Counterparty</th><th>Description</th>
<th class="money">Amount</th><th>Provenance</th></tr></thead>
<tbody>
{% for r in s.rows %}<tr>
<td>{{ r.line.period }}</td><td>{{ r.line.kind }}</td><td>{{ r.counterparty }}</td>
<td>{{ r.line.description }}
{%- if r.line.corrects %} (corrects {{ r.line.corrects }}){% endif %}
{%- if s.held_pence.get(r.line.line_id) %}<br><strong>{{ money(s.held_pence[r.line.line_id]) }}
held: disputed, not payable until resolved</strong>{% endif %}</td>
<td class="money">{{ money(r.signed_pence) }}</td>
<td><details><summary><code>{{ r.line.line_id }}</code></summary>
contract version <code>{{ r.line.contract_hash[:12] }}</code>;
inputs digest <code>{{ r.line.inputs_digest[:12] }}</code>
<ul>{% for k, v in r.line.inputs %}<li>{{ k }} = {{ v }}</li>{% endfor %}</ul>
</details></td>
</tr>
{% endfor %}</tbody>
<tfoot>
<tr><td colspan="4">Received</td><td class="money">{{ money(s.received_pence) }}</td><td></td></tr>
<tr><td colspan="4">Paid</td><td class="money">{{ money(-s.paid_pence) }}</td><td></td></tr>
<tr><td colspan="4">Net</td><td class="money">{{ money(s.net_pence) }}</td><td></td></tr>
{% if s.total_held_pence %}<tr><td colspan="4">Held by open disputes</td>
<td class="money">{{ money(s.total_held_pence) }}</td><td></td></tr>{% endif %}
</tfoot>
</table>
</body>
</html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def statement_html(statement: Statement) -> str:
    """A self-contained HTML statement (inline styles, no external assets)."""
    template = _ENV.from_string(_TEMPLATE)
    return template.render(
        s=statement,
        money=format_gbp,
        first=_label(statement.from_period),
        last=_label(statement.to_period),
    )
