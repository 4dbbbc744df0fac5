"""Lint-time stand-in for dbt's adapter.dispatch (see dbt.py): a dispatched macro renders
as a call of a function with the macro's name, the first argument as SQL and the others
(patterns, formats) as string literals, which parses like the real expression."""


def dispatch(macro_name, macro_namespace=None):
    def render(first, *rest):
        literals = ["'" + str(arg).replace("'", "''") + "'" for arg in rest]
        return f"{macro_name}({', '.join([str(first), *literals])})"

    return render
