"""The run summary says "not supplied" for figures a council does not supply (issue 12,
item 4), never 0: it prints the reason kpi_headline carries."""

from __future__ import annotations

from csc_pipeline import report, warehouse


def test_headline_prints_not_supplied_with_the_reason():
    with warehouse.connect() as con:
        con.execute("""
            create schema marts;
            create table marts.kpi_headline as select * from (values
              ('month', date '2026-10-01', date '2026-10-31', null, 'ASSESS_45WD_PCT',
               'Assessments authorised within 45 working days', 'fraction', 90, 100, 0.9,
               'green', null),
              ('month', date '2026-10-01', date '2026-10-31', null, 'CASELOAD_PER_FTE',
               'Average caseload per FTE', 'cases', null, null, null, null,
               'not supplied: no worker has an FTE'),
              ('month', date '2026-10-01', date '2026-10-31', null, 'CASELOAD_PER_WORKER',
               'Average caseload per case-holding worker (headcount, not FTE)', 'cases',
               170, 10, 17.0, null, null),
              ('month', date '2026-10-01', date '2026-10-31', null, 'AUDIT_GOOD_PLUS_PCT',
               'Audits graded good or better', 'fraction', null, null, null, null,
               'not supplied: no case_audits file in this night (optional local feed)')
            ) t(period, period_start, period_end, team_id, kpi_code, kpi_name, value_unit,
                numerator, denominator, value, rag, unavailable_reason)
        """)
        lines = report._headline(con)
    text = "\n".join(lines)
    assert "90.0%" in text and "17.0" in text
    audit = next(line for line in lines if "Audits graded good" in line)
    assert "not supplied" in audit and "no case_audits file" in audit and "0.0%" not in audit
    fte = next(line for line in lines if "per FTE" in line)
    assert "not supplied" in fte and "no worker has an FTE" in fte
    assert "headcount, not FTE" in text
