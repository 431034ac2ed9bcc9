"""gunicorn in production (Procfile.prod's web process: ``gunicorn -c gunicorn.conf.py``).

Sized from the environment: WEB_WORKERS processes of WEB_THREADS threads each. A request spends
much of its time waiting on PostgreSQL and Redis, so threads serve more than one request per
process; processes use the cores (start with 2 per core, 4 threads each, and measure). The web
tier keeps no state of its own (sessions, limits and locks are in PostgreSQL and Redis): add
machines behind the load balancer to serve more.
"""

import os

wsgi_app = "portal.wsgi:application"
# Behind the load balancer or reverse proxy; it terminates TLS and probes /healthz.
bind = os.environ.get("WEB_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request that runs longer is killed (its transaction rolls back); the portal's own waits
# (Redis, the broker, SMTP, Twilio) are bounded well below it.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# Workers are replaced now and then (memory a long-lived process gathers), never all at once.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# X-Forwarded-* believed only from the proxies the portal trusts (settings.TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1")
# JSON lines on stdout/stderr, one access line per request with the portal's request id.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "portal.logs.GunicornLogger"
# The process title names the portal in ps/top.
proc_name = "portal-web"
