"""gunicorn settings for the app: ``gunicorn -c python:webmap.gunicorn_conf 'webmap:create_app()'``.

Each worker builds its in-memory lookup indexes (search, reverse lookup, nearest places:
a few seconds for Guangdong) right after it starts, before it takes requests, so the first
public requests to a new worker do not wait behind the build.
"""

worker_class = "gthread"
keepalive = 30


def post_worker_init(worker):
    app = worker.wsgi
    if callable(getattr(app, "app_context", None)):
        from webmap.context import lookup

        with app.app_context():
            lookup().warm()
