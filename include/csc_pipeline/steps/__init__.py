"""The steps of a council's night: one module per DAG task, each the only place that
step is implemented, each with ``run(ref: dict, ...) -> dict`` that the DAG calls.

Order of a night: extract -> discover -> land -> validate -> build -> publish ->
alerts / board_pack (docs/architecture.md, "The flow of a night"). Steps exchange small
JSON-able dicts (XCom), never data; every step is idempotent.
"""
