"""gunicorn entry of the Generate OTP bench: ``portal.wsgi`` that, for a request carrying
``X-Bench-Count-Queries: 1``, answers with the number of SQL statements it sent to the database
(BEGIN/COMMIT/SAVEPOINT included, as ``CaptureQueriesContext`` counts them) in an
``X-Bench-Queries`` header. Requests without that header are served untouched (no debug cursor),
so the timed phase measures the portal as it runs in production."""

from django.db import connection

from portal.wsgi import application as portal


def application(environ, start_response):
    if environ.get("HTTP_X_BENCH_COUNT_QUERIES") != "1":
        return portal(environ, start_response)
    forced, connection.force_debug_cursor = connection.force_debug_cursor, True

    def start(status, headers, exc_info=None):
        # Django empties the log when the request starts (``reset_queries``): all are its own.
        count = len(connection.queries_log)
        return start_response(status, [*headers, ("X-Bench-Queries", str(count))], exc_info)

    try:
        return portal(environ, start)
    finally:
        connection.force_debug_cursor = forced
