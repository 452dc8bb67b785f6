"""The trial report as one self-contained HTML page: inline CSS and SVG, no scripts, no links out.

Laid out for A4 print (one or two pages): the verdict and the chart first, tables kept whole where
they fit, colours that survive a black-and-white printer (lines also differ in dash pattern).
"""

from __future__ import annotations

from html import escape

from .. import __version__
from ..controller import EMULATOR_SERIAL_PREFIX
from .bodymap import FELT_COLOUR, PAIN_COLOUR, body_map_svg, unshaped
from .chart import pain_chart_svg
from .models import DiaryEntry, ProgramTest, program_summary
from .regions import format_regions
from .report import (
    PRIVACY_NOTE,
    TrialReport,
    comfort_text,
    felt_text,
    hours_text,
    usage_source_text,
)

__all__ = ["render_html"]

_CSS = """
:root { --ink: #1d1d1f; --muted: #666; --rule: #d0d0d0; --ok: #2e7d32; --bad: #b3261e; --wait: #8a6d00; }
* { box-sizing: border-box; }
body { font: 13px/1.45 -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       margin: 24px auto; max-width: 900px; padding: 0 20px; }
h1 { font-size: 21px; margin: 0 0 2px; }
h2 { font-size: 15px; margin: 18px 0 6px; border-bottom: 1px solid var(--rule); padding-bottom: 2px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.verdict { border: 2px solid var(--muted); border-left-width: 8px; padding: 8px 12px; margin: 10px 0; }
.verdict.success { border-color: var(--ok); }
.verdict.not-met { border-color: var(--bad); }
.verdict.not-yet { border-color: var(--wait); }
.verdict .word { font-size: 17px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.verdict.success .word { color: var(--ok); }
.verdict.not-met .word { color: var(--bad); }
.verdict.not-yet .word { color: var(--wait); }
.verdict p { margin: 4px 0; }
.emulated { border: 3px dashed var(--bad); padding: 6px 10px; font-weight: 700; color: var(--bad); }
.rule, .arith { color: #333; font-size: .92em; }
.figures { display: flex; gap: 10px; margin: 8px 0 4px; }
.figures div { flex: 1; border: 1px solid var(--rule); padding: 5px 8px; }
.figures b { display: block; font-size: 17px; }
.figures span { color: var(--muted); font-size: .85em; }
svg.chart { width: 100%; height: auto; display: block; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.missing td { color: var(--muted); font-style: italic; }
tr.last-days td:first-child { box-shadow: inset 4px 0 0 #e8b400; }
.nowrap { white-space: nowrap; }
.flag { color: var(--muted); font-size: 11px; }
.small { color: var(--muted); font-size: 11px; }
footer { margin-top: 16px; color: var(--muted); font-size: 11px; border-top: 1px solid var(--rule); padding-top: 4px; }
.maps { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: flex-start; }
figure.map { margin: 0; flex: 0 1 170px; min-width: 0; }
figure.map.pain { flex-basis: 230px; }
svg.bodymap { width: 100%; height: auto; display: block; }
figure.map figcaption { font-size: 11px; }
.swatch { display: inline-block; width: 10px; height: 10px; vertical-align: -1px; border: 1px solid #8a8a8a; }
.swatch.edge { border: 2px dashed #c0504d; background: #f4f4f4; }
body { overflow-wrap: anywhere; }
.table-wrap { max-width: 100%; overflow-x: auto; }
@media (max-width: 600px) {
  /* A phone: the cards wrap two to a row, wide tables scroll inside their box, never the page. */
  body { margin: 12px auto; padding: 0 10px; }
  .figures { flex-wrap: wrap; }
  .figures div { flex: 1 1 40%; min-width: 0; }
  table { display: block; max-width: 100%; overflow-x: auto; }
}
@page { size: A4; margin: 12mm 12mm 14mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10.5px; }
  h1 { font-size: 17px; }
  h2 { font-size: 12.5px; margin-top: 10px; break-after: avoid; }
  table { font-size: 10px; }
  .figures b { font-size: 14px; }
  section, .verdict, svg.chart, tr, figure.map { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(text: object) -> str:
    return escape(str(text))


def render_html(report: TrialReport) -> str:
    t, a = report.trial, report.assessment
    css_class = {"success": "success", "not met": "not-met", "not yet": "not-yet"}[a.verdict]
    word = {"success": "Success", "not met": "Goal not met", "not yet": "Not yet decided"}[a.verdict]
    if a.interim:
        word = f"Interim: {word.lower()} so far (final on {a.final_date})"
    emulated = t.device_serial.startswith(EMULATOR_SERIAL_PREFIX)
    last_dates = {e.entry_date for e in a.last_entries}
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>SCS trial report {_e(t.trial_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>SCS trial report: {_e(t.trial_id)}</h1>",
        (
            '<p class="emulated">EMULATOR: the data come from scsctl\'s emulator, not a real device '
            "(no patient was stimulated).</p>"
            if emulated
            else ""
        ),
        f'<p class="sub">Device {_e(t.device_serial)} ({_e(t.profile)}) &middot; trial {t.start_date} to '
        f"{t.planned_end_date} (planned) &middot; pain area: "
        f"{_e(format_regions(t.pain_regions)) if t.pain_regions else 'not recorded'}</p>",
        f'<div class="verdict {css_class}"><div class="word">{word}</div>',
        f"<p><b>{_e(a.statement)}</b></p>",
        f'<p class="rule">Rule: {_e(a.rule)}</p>',
        f'<p class="arith">Arithmetic: {_e(a.arithmetic)}.</p>',
    ]
    if a.analgesics_unknown:
        parts.append(f'<p class="arith">Analgesics not recorded on: {", ".join(map(str, a.analgesics_unknown))}.</p>')
    parts.append("</div>")
    known = [e for e in report.diary if e.stimulation_s is not None]
    mean_h = sum(e.stimulation_s or 0 for e in known) / 3600 / len(known) if known else None
    parts += [
        '<div class="figures">',
        f"<div><span>baseline</span><b>NRS {t.baseline_nrs}</b></div>",
        f"<div><span>goal ({t.goal_reduction_pct} % less)</span><b>NRS {t.goal_nrs:g} or less</b></div>",
        f"<div><span>mean of the last {len(a.last_entries)} diary days</span><b>{a.mean_text}</b></div>",
        f"<div><span>change from baseline</span><b>{_e(a.reduction_text)}</b></div>",
        f"<div><span>stimulation, mean per day</span><b>{'-' if mean_h is None else f'{mean_h:.1f} h'}</b></div>",
        "</div>",
        "<section>",
        pain_chart_svg(report),
        '<p class="small">Shaded: the diary days the verdict\'s mean is taken over (orange bar: that mean). '
        "Dashed grey: baseline; dotted green: goal. Bars: hours of stimulation that day.</p>",
        "</section>",
        "<section><h2>Diary</h2><table><thead><tr>",
        '<th class="num">day</th><th>date</th><th class="num">NRS</th><th class="num">stimulation</th>'
        "<th>source</th><th>analgesics</th><th>notes</th></tr></thead><tbody>",
    ]
    for day, entry in report.days():
        n = t.day_number(day)
        if entry is None:
            missing = "not yet" if day > report.generated_on else "no entry"
            parts.append(
                f'<tr class="missing"><td class="num">{n}</td><td class="nowrap">{day}</td><td class="num">-</td>'
                f'<td class="num">-</td><td></td><td></td><td>{missing}</td></tr>'
            )
            continue
        row_class = ' class="last-days"' if day in last_dates else ""
        parts.append(
            f'<tr{row_class}><td class="num">{n}</td><td class="nowrap">{day}</td>'
            f'<td class="num"><b>{entry.nrs}</b></td>'
            f'<td class="num">{hours_text(entry)}</td><td>{_e(usage_source_text(entry))}</td>'
            f"<td>{entry.analgesics.value if entry.analgesics else '-'}</td><td>{_notes_cell(report, entry)}</td></tr>"
        )
    parts.append("</tbody></table></section>")
    parts.append(_body_maps(report))
    parts.append("<section><h2>Programs tried</h2>")
    if not report.programs:
        parts.append("<p>No programs recorded.</p>")
    else:
        parts.append(
            "<table><thead><tr><th>program</th><th>date</th><th class='num'>slot</th>"
            "<th>settings (device read-back)</th><th>paresthesia felt in</th><th>over the pain area</th>"
            "<th>comfort</th><th>notes</th></tr></thead><tbody>"
        )
        for p in report.programs:
            label = _e(p.label) + (' <span class="flag">left active</span>' if p.left_active else "")
            settings = _e(program_summary(p.capture.program)).replace("  ", " &middot; ")
            parts.append(
                f"<tr><td class='nowrap'>{label}</td><td class='nowrap'>{p.session_date}</td>"
                f"<td class='num'>{p.slot}</td>"
                f"<td>{settings}<br><span class='flag'>{_e(felt_text(p))}</span></td>"
                f"<td>{_e(format_regions(p.regions))}</td><td>{_e(p.overlap.describe())}</td>"
                f"<td>{_e(comfort_text(p))}</td><td>{_e(p.notes) or '-'}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</section><section><h2>Device faults during the trial</h2>")
    if report.faults:
        parts.append("<ul>")
        parts += [f"<li>{_e(f.time_utc[:19].replace('T', ' '))} UTC: {_e(f.description)}</li>" for f in report.faults]
        parts.append("</ul>")
    else:
        parts.append(
            f"<p>None recorded for {_e(t.device_serial)} from {report.first_day} to {report.last_day} "
            "(the audit log's fault events for this device).</p>"
        )
    parts.append("</section>")
    if report.history:
        parts.append(
            "<section><h2>Diary edits</h2><table><thead><tr><th>date</th><th>was</th><th>replaced (UTC)</th>"
            "<th>by</th><th>reason</th></tr></thead><tbody>"
        )
        for h in report.history:
            e = h.entry
            was = f"NRS {e.nrs}, {hours_text(e)}, analgesics {e.analgesics.value if e.analgesics else '-'}"
            if e.notes:
                was += f", notes: {e.notes}"
            parts.append(
                f"<tr><td>{e.entry_date}</td><td>{_e(was)}</td><td>{_e(h.replaced_utc[:16].replace('T', ' '))}</td>"
                f"<td>{_e(h.replaced_by)}</td><td>{_e(h.reason) or '-'}</td></tr>"
            )
        parts.append("</tbody></table></section>")
    parts += [
        f"<footer>Generated {_e(report.generated_text)} by scsctl {__version__}. {_e(PRIVACY_NOTE)}</footer>",
        "</body></html>",
        "",
    ]
    return "\n".join(parts)


def _body_maps(report: TrialReport) -> str:
    """The pain area on a body map, then each program's paresthesia over it; every region is also
    named in the caption, and one the map cannot draw is named as such."""
    pain = report.trial.pain_regions
    pain_words = _e(format_regions(pain)) if pain else "not recorded"
    parts = [
        '<section><h2>Body maps</h2><div class="maps">',
        _map_figure(
            "pain",
            body_map_svg(pain, label=f"pain area: {format_regions(pain) if pain else 'not recorded'}"),
            f"<b>Pain area</b>: {pain_words}",
            pain,
        ),
    ]
    for p in report.programs:
        parts.append(_program_map(p, pain))
    parts += [
        "</div>",
        f'<p class="small"><span class="swatch" style="background:{PAIN_COLOUR}"></span> pain area &middot; '
        f'<span class="swatch" style="background:{FELT_COLOUR}"></span> paresthesia felt (a program) &middot; '
        '<span class="swatch edge"></span> the pain area, outlined under a program\'s paresthesia. '
        "Front: the patient's right on the left; back: seen from behind.</p>",
        "</section>",
    ]
    return "\n".join(parts)


def _program_map(test: ProgramTest, pain: tuple[str, ...]) -> str:
    felt = test.regions
    felt_words = f"felt in {_e(format_regions(felt))}" if felt else "no paresthesia felt"
    label = f"{test.label}: " + (f"paresthesia felt in {format_regions(felt)}" if felt else "no paresthesia felt")
    return _map_figure(
        "program",
        body_map_svg(felt, outlined=pain, colour=FELT_COLOUR, label=label),
        f"<b>{_e(test.label)}</b> (slot {test.slot}): {felt_words}",
        felt,
    )


def _map_figure(kind: str, svg: str, caption: str, regions: tuple[str, ...]) -> str:
    missing = unshaped(regions)
    if missing:
        caption += f'; <span class="flag">not drawn on the map: {_e(", ".join(missing))}</span>'
    return f'<figure class="map {kind}">{svg}<figcaption>{caption}</figcaption></figure>'


def _notes_cell(report: TrialReport, entry: DiaryEntry) -> str:
    text = _e(entry.notes)
    flags = []
    if entry.recorded_late:
        flags.append(f"entered late ({entry.recorded_utc[:10]})")
    edits = report.edits_of(entry.entry_date)
    if edits:
        flags.append(f"edited {edits}x (see Diary edits)")
    if flags:
        text += (" " if text else "") + f'<span class="flag">{_e("; ".join(flags))}</span>'
    return text or "-"
