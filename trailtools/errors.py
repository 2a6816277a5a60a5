"""The one exception type a user sees: a sentence saying what is wrong and what to do."""


class TrailtoolsError(Exception):
    """An error the user can fix (bad parameter, missing file, no credentials ...).

    Its message is one complete sentence meant for people, shown without a traceback by the CLI and the notebooks.
    """


class SourceError(TrailtoolsError):
    """A source URI that cannot be read: a missing path, an unknown scheme, no CloudTrail in it."""


class QueryError(TrailtoolsError):
    """A query parameter that cannot be understood (a bad time, an unknown format)."""
