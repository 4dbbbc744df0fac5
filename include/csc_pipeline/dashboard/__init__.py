"""The analysts' and managers' dashboard (Streamlit), over the PUBLISHED warehouse.

Start it with `make dashboard` (the sample, with a development identity) or
`python -m csc_pipeline.dashboard` (binds to 127.0.0.1; put the council's sign-on proxy
in front of it). See docs/dashboard.md.

Modules: access (who may see what), data (read-only queries), ui (shared page pieces),
views (the pages), app.py + screens/ (the Streamlit scripts), __main__ (the launcher).
"""
